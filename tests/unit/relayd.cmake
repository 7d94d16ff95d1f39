# Unit tests of wgrelayd's modules (linked against wgrelayd_core).
foreach(t wgcheck policy admit config session)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
    add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                    LINK_LIBRARIES wgrelayd_core)
  endif()
endforeach()
