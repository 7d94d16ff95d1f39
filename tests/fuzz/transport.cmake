# Fuzz targets of the stream transports.
if(TARGET wgrtransport)
  add_fuzz_target(fuzz_ws SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_ws.c
                  LINK_LIBRARIES wgrtransport)
endif()
