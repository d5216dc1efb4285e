# RelayStatic - can sendmail be linked as a static PIE?
#
# Sets RELAY_STATIC_OK when RELAY_STATIC_SENDMAIL is on, no sanitizer or
# fuzzer build is asked for (their runtimes need the dynamic loader), the
# toolchain links a static PIE, and libconfuse's static archive exists.
# Defines relay_confuse: the target the code links for libconfuse; a target
# whose RELAY_STATIC property is true gets the archive, others the shared
# library.  glibc's static NSS reads the files and dns sources itself;
# other sources in nsswitch.conf are loaded at run time from the same
# glibc, which a distribution package always has.
include(CheckCSourceCompiles)

set(RELAY_STATIC_OK OFF)
if(RELAY_STATIC_SENDMAIL AND NOT RELAY_SANITIZE AND NOT RELAY_FUZZ)
  find_library(RELAY_CONFUSE_ARCHIVE NAMES libconfuse.a
    HINTS ${CONFUSE_LIBRARY_DIRS})
  set(CMAKE_REQUIRED_LINK_OPTIONS -static-pie)
  check_c_source_compiles("int main(void) { return 0; }" RELAY_HAVE_STATIC_PIE)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(RELAY_CONFUSE_ARCHIVE AND RELAY_HAVE_STATIC_PIE)
    set(RELAY_STATIC_OK ON)
  else()
    message(STATUS "sendmail: linked dynamically (static PIE: "
      "${RELAY_HAVE_STATIC_PIE}, libconfuse.a: ${RELAY_CONFUSE_ARCHIVE})")
  endif()
endif()

add_library(relay_confuse INTERFACE)
target_include_directories(relay_confuse INTERFACE ${CONFUSE_INCLUDE_DIRS})
if(RELAY_STATIC_OK)
  target_link_libraries(relay_confuse INTERFACE
    "$<IF:$<BOOL:$<TARGET_PROPERTY:RELAY_STATIC>>,${RELAY_CONFUSE_ARCHIVE},PkgConfig::CONFUSE>")
else()
  target_link_libraries(relay_confuse INTERFACE PkgConfig::CONFUSE)
endif()

# relay_static_program(TARGET) - link TARGET as a static PIE when possible.
function(relay_static_program target)
  if(RELAY_STATIC_OK)
    set_target_properties(${target} PROPERTIES RELAY_STATIC ON)
    target_link_options(${target} PRIVATE -static-pie)
  endif()
endfunction()
