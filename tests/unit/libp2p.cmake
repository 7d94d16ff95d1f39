# Unit tests of libp2p/: one block per module.
# pb
add_cmocka_test(test_pb SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pb.c LINK_LIBRARIES wgrlibp2p)
# peerid, multiaddr, envelope
add_cmocka_test(test_peerid SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_peerid.c LINK_LIBRARIES wgrlibp2p)
add_cmocka_test(test_multiaddr SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_multiaddr.c
                LINK_LIBRARIES wgrlibp2p)
add_cmocka_test(test_envelope SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_envelope.c
                LINK_LIBRARIES wgrlibp2p)
# resv
add_cmocka_test(test_resv SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_resv.c LINK_LIBRARIES wgrlibp2p)
# xxnoise
add_cmocka_test(test_xxnoise SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_xxnoise.c LINK_LIBRARIES wgrlibp2p)
# yamux
add_cmocka_test(test_yamux SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_yamux.c LINK_LIBRARIES wgrlibp2p)
# mss, p2pmsg
add_cmocka_test(test_mss SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mss.c LINK_LIBRARIES wgrlibp2p)
add_cmocka_test(test_p2pmsg SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_p2pmsg.c LINK_LIBRARIES wgrlibp2p)
