# Fuzz targets of libp2p/: one block per module.
# peerid, multiaddr, envelope
add_fuzz_target(fuzz_peerid SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_peerid.c LINK_LIBRARIES wgrlibp2p)
add_fuzz_target(fuzz_multiaddr SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_multiaddr.c
                LINK_LIBRARIES wgrlibp2p)
add_fuzz_target(fuzz_envelope SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_envelope.c
                LINK_LIBRARIES wgrlibp2p)
# xxnoise
add_fuzz_target(fuzz_xxnoise SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_xxnoise.c LINK_LIBRARIES wgrlibp2p)
# Writes the fuzz_xxnoise seed corpus: fuzz_mkseeds_xxnoise tests/fuzz/corpus
add_executable(fuzz_mkseeds_xxnoise ${CMAKE_CURRENT_LIST_DIR}/mkseeds_xxnoise.c)
target_link_libraries(fuzz_mkseeds_xxnoise PRIVATE wgrlibp2p)
# yamux
add_fuzz_target(fuzz_yamux SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_yamux.c LINK_LIBRARIES wgrlibp2p)
# mss, p2pmsg
add_fuzz_target(fuzz_mss SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_mss.c LINK_LIBRARIES wgrlibp2p)
add_fuzz_target(fuzz_p2pmsg SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_p2pmsg.c LINK_LIBRARIES wgrlibp2p)
