# BpfObject.cmake: BPF programs compiled with clang at build time and embedded into a target
# as a C byte array, so the binary carries its program and needs no file at run time.
#
#   include(BpfObject)            -> option WGR_XDP (ON when clang and libbpf are found)
#   wgr_bpf_embed(TARGET NAME SOURCE DEPENDS...)
#       compiles SOURCE to NAME.bpf.o and adds NAME_bpf.c to TARGET, which defines
#       `const unsigned char NAME_bpf[]` and `const size_t NAME_bpf_len`.
#
# Run as a script (cmake -DIN=obj -DOUT=file.c -DSYM=name -P BpfObject.cmake) it writes that
# C file; file(READ HEX) does what xxd -i would, without needing xxd.

if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${IN}" hex HEX)
  string(LENGTH "${hex}" nhex)
  math(EXPR len "${nhex} / 2")
  # 16 bytes a line keeps the generated file readable and diffable.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
  string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
  string(REGEX REPLACE "(${line})" "\\1\n\t" body "${body}")
  file(WRITE "${OUT}.tmp"
       "/* Generated from ${SYM}.bpf.o by BpfObject.cmake: do not edit. */\n"
       "#include <stddef.h>\n\n"
       "extern const unsigned char ${SYM}_bpf[];\n"
       "extern const size_t ${SYM}_bpf_len;\n"
       "const unsigned char ${SYM}_bpf[] __attribute__((aligned(8))) = {\n\t${body}\n};\n"
       "const size_t ${SYM}_bpf_len = ${len};\n")
  file(RENAME "${OUT}.tmp" "${OUT}")
  return()
endif()

find_program(WGR_BPF_CLANG NAMES clang clang-16 clang-15 clang-14 clang-13)
pkg_check_modules(LIBBPF QUIET IMPORTED_TARGET libbpf)
if(WGR_BPF_CLANG AND LIBBPF_FOUND)
  set(_wgr_xdp_default ON)
else()
  set(_wgr_xdp_default OFF)
endif()
option(WGR_XDP "Build the XDP fast path of direct mode (needs clang and libbpf)"
       ${_wgr_xdp_default})
if(WGR_XDP AND NOT (WGR_BPF_CLANG AND LIBBPF_FOUND))
  message(FATAL_ERROR "WGR_XDP=ON needs clang and libbpf (pkg-config libbpf; Debian: libbpf-dev)")
endif()
if(WGR_XDP)
  message(STATUS "XDP fast path: on (${WGR_BPF_CLANG}, libbpf ${LIBBPF_VERSION})")
else()
  message(STATUS "XDP fast path: off (clang or libbpf-dev missing, or WGR_XDP=OFF)")
endif()

# <asm/types.h> and friends live in the multiarch directory, which clang -target bpf does not
# search by itself.
set(WGR_BPF_MULTIARCH "${CMAKE_LIBRARY_ARCHITECTURE}")
if(WGR_XDP AND NOT WGR_BPF_MULTIARCH)
  execute_process(COMMAND gcc -print-multiarch OUTPUT_VARIABLE WGR_BPF_MULTIARCH
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
set(_wgr_bpf_object_script ${CMAKE_CURRENT_LIST_FILE})

function(wgr_bpf_embed target name source)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/${name}_bpf.c)
  get_filename_component(srcdir ${source} DIRECTORY)
  set(incs -I${srcdir})
  if(WGR_BPF_MULTIARCH)
    list(APPEND incs -I/usr/include/${WGR_BPF_MULTIARCH})
  endif()
  foreach(d ${LIBBPF_INCLUDE_DIRS})
    list(APPEND incs -I${d})
  endforeach()
  add_custom_command(OUTPUT ${obj}
    COMMAND ${WGR_BPF_CLANG} -O2 -g -Wall -Werror -target bpf ${incs} -c ${source} -o ${obj}
    DEPENDS ${source} ${ARGN}
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(OUTPUT ${gen}
    COMMAND ${CMAKE_COMMAND} -DIN=${obj} -DOUT=${gen} -DSYM=${name}
            -P ${_wgr_bpf_object_script}
    DEPENDS ${obj} ${_wgr_bpf_object_script}
    COMMENT "Embedding ${name}.bpf.o"
    VERBATIM)
  target_sources(${target} PRIVATE ${gen})
endfunction()
