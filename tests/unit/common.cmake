# Unit tests of the common core (log, buf, addr, ev, conf, key, ratelimit, file, sock).
foreach(t buf addr ev conf key ratelimit log file sock)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
    add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                    LINK_LIBRARIES wgrcommon)
  endif()
endforeach()
