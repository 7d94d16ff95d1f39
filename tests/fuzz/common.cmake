# Fuzz targets of the common core's parsers.
add_fuzz_target(fuzz_conf SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_conf.c LINK_LIBRARIES wgrcommon)
add_fuzz_target(fuzz_addr SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_addr.c LINK_LIBRARIES wgrcommon)
