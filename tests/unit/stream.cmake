# Unit tests of stream carriage: records, sniffing, the output queue, transport URLs.
foreach(t stream turl)
  add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                  LINK_LIBRARIES wgrcommon)
endforeach()
