# End-to-end scenarios: network-namespace worlds (sim/world.sh) with real wireguard-go, wgrelayd
# and wgrelay. Each script exits 0 pass, 1 fail, 77 skip (not root, no namespaces or nftables).
file(GLOB WGR_E2E_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/[0-9][0-9]_*.sh)
# Scenarios known to fail in some runs and pass in others, labelled flaky: `make e2e` runs
# them, `make test` (the CI gate) leaves them out until they are made deterministic. None now.
set(WGR_E2E_FLAKY)
# Scenarios too long for the gate, labelled long: `make e2e` runs them, `make test` does not.
# 21: a private Tor network boots for about a minute, and a slow one may take five.
set(WGR_E2E_LONG 21_tor)
foreach(script ${WGR_E2E_SCRIPTS})
  get_filename_component(name ${script} NAME_WE)
  set(labels e2e)
  if(name IN_LIST WGR_E2E_FLAKY)
    set(labels "e2e;flaky")
  elseif(name IN_LIST WGR_E2E_LONG)
    set(labels "e2e;long")
  endif()
  add_test(NAME e2e_${name} COMMAND sh ${script})
  set_tests_properties(e2e_${name} PROPERTIES
    LABELS "${labels}" RUN_SERIAL TRUE TIMEOUT 240 SKIP_RETURN_CODE 77
    ENVIRONMENT "WGR_SOURCE_DIR=${PROJECT_SOURCE_DIR};WGR_BINARY_DIR=${PROJECT_BINARY_DIR}")
endforeach()
# The relay network (31 relays, a descriptor lifetime to wait out): longer than the others.
if(TEST e2e_19_relay_network)
  set_tests_properties(e2e_19_relay_network PROPERTIES TIMEOUT 420)
endif()
# The stream transports (six legs with iperf3, bad input with handshake timeouts).
if(TEST e2e_20_transports)
  set_tests_properties(e2e_20_transports PROPERTIES TIMEOUT 300)
endif()
# The private Tor network: it stops itself at 590 s.
if(TEST e2e_21_tor)
  set_tests_properties(e2e_21_tor PROPERTIES TIMEOUT 600)
endif()
# xdp
# The XDP fast path with real WireGuard: a roam waits out the member's 15 s of silence and a
# WireGuard re-handshake, then a byte limit is run out.
if(TEST e2e_23_xdp)
  set_tests_properties(e2e_23_xdp PROPERTIES TIMEOUT 360)
endif()
# 24: multi-hop circuits carrying real WireGuard (six relays, tcpdump on each): about 40 s, so
# in the gate; WGR_CIRC_SOAK (a run past the links' rekey) is for runs by hand.
if(TEST e2e_24_circuits)
  set_tests_properties(e2e_24_circuits PROPERTIES TIMEOUT 150)
endif()
# The helper on circuits: two rotation periods of 30 s with pings, a middle relay and then the
# rendezvous killed, a restart (about 215 s here).
if(TEST e2e_25_helper_circuits)
  set_tests_properties(e2e_25_helper_circuits PROPERTIES TIMEOUT 420)
endif()
