# Install.cmake - `cmake --install` rules (GNUInstallDirs, DESTDIR honoured).
#
# Layout, the one every Debian MTA uses:
#   sbin/sendmail                 the submission program
#   bin/mailq, bin/newaliases     symlinks to ../sbin/sendmail (argv[0] modes)
#   lib/sendmail                  symlink to ../sbin/sendmail (the historical
#                                 /usr/lib/sendmail; under another prefix it
#                                 goes to PREFIX/lib)
#   sbin/relayd, bin/relayctl
#   share/man/man8/{sendmail,relayd,relayctl}.8, share/man/man5/relay.conf.5
#   SYSCONFDIR/relay/relay.conf   the commented example; an existing file is
#                                 kept and the example goes beside it as
#                                 relay.conf.example (unless DESTDIR is set)
#   lib/systemd/system/relayd.service, lib/tmpfiles.d/relay.conf
#
# Ownership and modes (setgid sendmail, the relay user, the spool) are the
# package's job: see packaging/debian and packaging/rpm.

set(RELAY_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
  "Where relayd.service goes (relative to the prefix, or absolute)")
set(RELAY_TMPFILES_DIR "lib/tmpfiles.d" CACHE STRING
  "Where the tmpfiles.d entry for /run/relay goes (relative or absolute)")
set(RELAY_SENDMAIL_LINK_DIR "lib" CACHE STRING
  "Directory of the historical lib/sendmail symlink (relative or absolute)")
option(RELAY_INSTALL_SYSTEMD "Install the systemd unit and tmpfiles entry" ON)

if(RELAY_MUSL_OK)
  install(PROGRAMS ${CMAKE_BINARY_DIR}/bin/sendmail
    DESTINATION ${CMAKE_INSTALL_SBINDIR})
else()
  install(TARGETS sendmail DESTINATION ${CMAKE_INSTALL_SBINDIR})
endif()
install(TARGETS relayd DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS relayctl DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES
  ${CMAKE_SOURCE_DIR}/man/sendmail.8
  ${CMAKE_SOURCE_DIR}/man/relayd.8
  ${CMAKE_SOURCE_DIR}/man/relayctl.8
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_SOURCE_DIR}/man/relay.conf.5
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)

# relay_install_dir(VAR DIR) - DIR made absolute under the install-time
# prefix; the result is a string evaluated by the install script.
function(relay_install_dir var dir)
  if(IS_ABSOLUTE "${dir}")
    set(${var} "${dir}" PARENT_SCOPE)
  else()
    set(${var} "\${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

relay_install_dir(relay_sbin "${CMAKE_INSTALL_SBINDIR}")
relay_install_dir(relay_bin "${CMAKE_INSTALL_BINDIR}")
relay_install_dir(relay_liblink "${RELAY_SENDMAIL_LINK_DIR}")
relay_install_dir(relay_man8 "${CMAKE_INSTALL_MANDIR}/man8")

# The symlinks are relative (../sbin/sendmail), computed at install time so
# `cmake --install --prefix` and DESTDIR both work.  mailq(8) and
# newaliases(8) are the sendmail(8) page.
install(CODE "
  function(relay_link dir name target)
    file(RELATIVE_PATH rel \"\${dir}\" \"\${target}\")
    set(link \"\$ENV{DESTDIR}\${dir}/\${name}\")
    file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${dir}\")
    if(IS_SYMLINK \"\${link}\" OR EXISTS \"\${link}\")
      file(REMOVE \"\${link}\")
    endif()
    message(STATUS \"Installing: \${link} -> \${rel}\")
    file(CREATE_LINK \"\${rel}\" \"\${link}\" SYMBOLIC)
  endfunction()
  relay_link(\"${relay_bin}\" mailq \"${relay_sbin}/sendmail\")
  relay_link(\"${relay_bin}\" newaliases \"${relay_sbin}/sendmail\")
  relay_link(\"${relay_liblink}\" sendmail \"${relay_sbin}/sendmail\")
  relay_link(\"${relay_man8}\" mailq.8 \"${relay_man8}/sendmail.8\")
  relay_link(\"${relay_man8}\" newaliases.8 \"${relay_man8}/sendmail.8\")
")

# The configuration: never overwrite the administrator's file on a live
# system; a staged install (DESTDIR) always gets the example.
install(CODE "
  set(dir \"\$ENV{DESTDIR}${CMAKE_INSTALL_FULL_SYSCONFDIR}/relay\")
  set(name relay.conf)
  if(\"\$ENV{DESTDIR}\" STREQUAL \"\" AND EXISTS \"\${dir}/relay.conf\")
    set(name relay.conf.example)
    message(STATUS \"Keeping \${dir}/relay.conf; example installed as \${name}\")
  endif()
  file(MAKE_DIRECTORY \"\${dir}\")
  message(STATUS \"Installing: \${dir}/\${name}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/etc/relay.conf\" \"\${dir}/\${name}\"
    COPYONLY)
")

if(RELAY_INSTALL_SYSTEMD)
  # The unit names /usr/sbin/relayd; another sbindir is written into a copy.
  file(READ ${CMAKE_SOURCE_DIR}/packaging/systemd/relayd.service relay_unit)
  string(REPLACE "/usr/sbin/relayd" "${CMAKE_INSTALL_FULL_SBINDIR}/relayd"
    relay_unit "${relay_unit}")
  file(WRITE ${CMAKE_BINARY_DIR}/packaging/relayd.service "${relay_unit}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${CMAKE_SOURCE_DIR}/packaging/systemd/relayd.service)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/relayd.service
    DESTINATION ${RELAY_SYSTEMD_UNIT_DIR})
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/systemd/relay.tmpfiles
    DESTINATION ${RELAY_TMPFILES_DIR} RENAME relay.conf)
endif()
