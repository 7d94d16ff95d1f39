# Fuzz targets of relay-client's readers of outside bytes: GeoIP files, token commands' output,
# the cache's records as status, doctor and the relay registry read them (records.h), the
# stream URLs it keeps, and relays' replies to DISCOVER.
if(TARGET wgrelay_core)
  add_fuzz_target(fuzz_geoip SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_geoip.c
                  LINK_LIBRARIES wgrelay_core)
  add_fuzz_target(fuzz_token_output SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_token_output.c
                  LINK_LIBRARIES wgrelay_core)
  foreach(t status registry doctor)
    add_fuzz_target(fuzz_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c
                    LINK_LIBRARIES wgrelay_core)
  endforeach()
  # The stream URLs of a relay as the cache keeps them (urls.h).
  add_fuzz_target(fuzz_urls SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_urls.c
                  LINK_LIBRARIES wgrelay_core)
  # Replies to DISCOVER (discover.h); fuzz_mkseeds_discover tests/fuzz/corpus writes its seeds.
  add_fuzz_target(fuzz_discover SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_discover.c
                  LINK_LIBRARIES wgrelay_core)
  # Path selection (pathsel.h) over relays whose descriptors came from outside.
  add_fuzz_target(fuzz_pathsel SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_pathsel.c
                  LINK_LIBRARIES wgrelay_core)
  add_executable(fuzz_mkseeds_discover ${CMAKE_CURRENT_LIST_DIR}/mkseeds_discover.c)
  target_link_libraries(fuzz_mkseeds_discover PRIVATE wgrcommon)
endif()
# One peer's circuits (circpeer.h): cells from relays and the far side, the clock, lost links.
if(TARGET wgrelay_core)
  add_fuzz_target(fuzz_circpeer SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_circpeer.c
                  LINK_LIBRARIES wgrelay_core)
endif()
