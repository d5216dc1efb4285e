# RelayMusl - build sendmail against musl when the toolchain has it.
#
# sendmail is exec'd once per message, and glibc's start-up asks the CPU
# for its cache sizes through dozens of CPUID instructions; in a virtual
# machine each one is a trap to the hypervisor, which makes glibc's
# start-up 0.1 to 0.5 ms of CPU, more than all of sendmail's own work
# (tests/bench/submit).  musl's start-up asks nothing.  So when musl-gcc
# is installed (Debian: musl-tools) and the glibc build would link sendmail
# statically anyway (RelayStatic), sendmail is built a second way: with
# musl-gcc, as an external project (cmake/musl), into the same bin/.
#
# The price: musl reads users from /etc/passwd (and nscd) only, not from
# NSS modules such as sss or ldap; sendmail then asks relayd (the whoami
# control request), so only the maildrop path, with relayd down, misses
# those users.  -DRELAY_SENDMAIL_MUSL=OFF keeps glibc.
#
# Sets RELAY_MUSL_OK and defines relay_musl_sendmail(), which adds the
# external project under the target name sendmail.
option(RELAY_SENDMAIL_MUSL
  "Build sendmail with musl-gcc when it is installed (faster start-up)" ON)

set(RELAY_MUSL_OK OFF)
if(RELAY_SENDMAIL_MUSL AND RELAY_STATIC_OK)
  find_program(RELAY_MUSL_GCC musl-gcc)
  find_path(RELAY_CONFUSE_H confuse.h HINTS ${CONFUSE_INCLUDE_DIRS})
  find_path(RELAY_MUSL_LIBDIR rcrt1.o
    PATHS /usr/lib/x86_64-linux-musl /usr/lib/musl/lib /usr/local/musl/lib
    NO_DEFAULT_PATH)
  if(RELAY_MUSL_GCC AND RELAY_CONFUSE_H AND RELAY_MUSL_LIBDIR)
    execute_process(COMMAND ${RELAY_MUSL_GCC} -print-file-name=crtbeginS.o
      OUTPUT_VARIABLE RELAY_CRTBEGIN OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND ${RELAY_MUSL_GCC} -print-file-name=crtendS.o
      OUTPUT_VARIABLE RELAY_CRTEND OUTPUT_STRIP_TRAILING_WHITESPACE)
    # confuse.h alone: the directory it lives in holds glibc's headers.
    set(RELAY_MUSL_INCLUDE ${CMAKE_BINARY_DIR}/musl-include)
    file(MAKE_DIRECTORY ${RELAY_MUSL_INCLUDE})
    configure_file(${RELAY_CONFUSE_H}/confuse.h
      ${RELAY_MUSL_INCLUDE}/confuse.h COPYONLY)
    # The archive is glibc's: link and run a parse with it to be sure.
    set(dir ${CMAKE_BINARY_DIR}/musl-check)
    file(MAKE_DIRECTORY ${dir})
    file(WRITE ${dir}/check.c [=[
#include <confuse.h>
#include <stdio.h>
#include <string.h>
int main(void) {
	cfg_opt_t opts[] = { CFG_STR("host", "x", CFGF_NONE),
		CFG_INT("port", 0, CFGF_NONE), CFG_END() };
	cfg_t *cfg = cfg_init(opts, CFGF_NONE);
	if (cfg_parse_buf(cfg, "host = \"a.example\"\nport = 587\n") != 0)
		return 1;
	return strcmp(cfg_getstr(cfg, "host"), "a.example") != 0 ||
	    cfg_getint(cfg, "port") != 587;
}
]=])
    # Debian's musl-gcc links static programs without PIE, so the start
    # files of a static PIE (rcrt1.o relocates the program itself) are
    # named and the linker is told the rest; crtend and crtn close the
    # link.  The check below and cmake/musl link with these two lists.
    set(RELAY_MUSL_LINK_FIRST -nostartfiles ${RELAY_MUSL_LIBDIR}/rcrt1.o
      ${RELAY_MUSL_LIBDIR}/crti.o ${RELAY_CRTBEGIN}
      -Wl,-static,-pie,--no-dynamic-linker,-z,text,-z,relro,-z,now)
    set(RELAY_MUSL_LINK_LAST ${RELAY_CRTEND} ${RELAY_MUSL_LIBDIR}/crtn.o)
    # Checked once per toolchain and archive, not at every reconfigure.
    set(key "${RELAY_MUSL_GCC};${RELAY_CONFUSE_ARCHIVE}")
    if(NOT "${RELAY_MUSL_CHECKED}" STREQUAL "${key}")
      execute_process(
        COMMAND ${RELAY_MUSL_GCC} -std=c11 -O2 -fPIE -I${RELAY_MUSL_INCLUDE}
          ${RELAY_MUSL_LINK_FIRST} check.c
          ${CMAKE_SOURCE_DIR}/src/compat/fortify_musl.c
          ${RELAY_CONFUSE_ARCHIVE} ${RELAY_MUSL_LINK_LAST} -o check
        WORKING_DIRECTORY ${dir} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
      if(rc EQUAL 0)
        execute_process(COMMAND ${dir}/check RESULT_VARIABLE rc)
      endif()
      set(RELAY_MUSL_CHECK_RC "${rc}" CACHE INTERNAL "")
      set(RELAY_MUSL_CHECKED "${key}" CACHE INTERNAL "")
    endif()
    set(rc "${RELAY_MUSL_CHECK_RC}")
    if(rc EQUAL 0)
      set(RELAY_MUSL_OK ON)
      message(STATUS "sendmail: built with musl (${RELAY_MUSL_GCC})")
    else()
      message(STATUS "sendmail: built with the system C library "
        "(musl-gcc could not link libconfuse.a: ${rc})")
    endif()
  endif()
endif()

# relay_musl_sendmail() - the target sendmail, built by cmake/musl.
function(relay_musl_sendmail)
  include(ExternalProject)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" bt)
  set(opts ${RELAY_WARNINGS})
  separate_arguments(flags UNIX_COMMAND
    "${CMAKE_C_FLAGS} ${CMAKE_C_FLAGS_${bt}}")
  list(APPEND opts ${flags})
  if(bt STREQUAL "RELEASE")
    list(APPEND opts -fstack-protector-strong)
  endif()
  # A list element such as -DNDEBUG would read as one more cache entry:
  # the lists go over joined with |.
  string(REPLACE ";" "|" opts "${opts}")
  string(REPLACE ";" "|" first "${RELAY_MUSL_LINK_FIRST}")
  string(REPLACE ";" "|" last "${RELAY_MUSL_LINK_LAST}")
  ExternalProject_Add(sendmail
    SOURCE_DIR ${CMAKE_SOURCE_DIR}/cmake/musl
    BINARY_DIR ${CMAKE_BINARY_DIR}/musl
    CMAKE_CACHE_ARGS
      -DCMAKE_C_COMPILER:FILEPATH=${RELAY_MUSL_GCC}
      -DCMAKE_BUILD_TYPE:STRING=${CMAKE_BUILD_TYPE}
      -DRELAY_SRC:PATH=${CMAKE_SOURCE_DIR}
      -DRELAY_GEN_INCLUDE:PATH=${CMAKE_BINARY_DIR}/include
      -DRELAY_MUSL_INCLUDE:PATH=${RELAY_MUSL_INCLUDE}
      -DRELAY_CONFUSE_ARCHIVE:FILEPATH=${RELAY_CONFUSE_ARCHIVE}
      -DRELAY_MUSL_LINK_FIRST:STRING=${first}
      -DRELAY_MUSL_LINK_LAST:STRING=${last}
      -DRELAY_COMPILE_OPTIONS:STRING=${opts}
      -DRELAY_OUT:PATH=${CMAKE_BINARY_DIR}/bin
    BUILD_ALWAYS ON
    INSTALL_COMMAND "")
endfunction()
