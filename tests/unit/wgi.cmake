# Unit tests of wg-integration: netlink and UAPI reply parsers, rtnetlink link messages.
foreach(t nl uapi rtnl)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_wg_${t}.c)
    add_cmocka_test(test_wg_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wg_${t}.c
                    LINK_LIBRARIES wgi)
  endif()
endforeach()
