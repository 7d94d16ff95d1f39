# Unit tests of the wire protocol library in common/.
foreach(t noise replay cookie frame seal sid handshake onion cell circhs circmsg circsw)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
    add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                    LINK_LIBRARIES wgrcommon)
  endif()
endforeach()
