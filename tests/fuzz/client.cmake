# Fuzz targets of relay-client's readers of outside bytes (GeoIP files, token commands' output).
if(TARGET wgrelay_core)
  add_fuzz_target(fuzz_geoip SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_geoip.c
                  LINK_LIBRARIES wgrelay_core)
  add_fuzz_target(fuzz_token_output SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_token_output.c
                  LINK_LIBRARIES wgrelay_core)
endif()
