# Fuzz targets of relay-client's readers of outside bytes: GeoIP files, token commands' output,
# and the cache's records as status, doctor and the relay registry read them (records.h).
if(TARGET wgrelay_core)
  add_fuzz_target(fuzz_geoip SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_geoip.c
                  LINK_LIBRARIES wgrelay_core)
  add_fuzz_target(fuzz_token_output SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_token_output.c
                  LINK_LIBRARIES wgrelay_core)
  foreach(t status registry doctor)
    add_fuzz_target(fuzz_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c
                    LINK_LIBRARIES wgrelay_core)
  endforeach()
endif()
