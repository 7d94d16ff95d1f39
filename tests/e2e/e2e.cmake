# End-to-end scenarios: network-namespace worlds (sim/world.sh) with real wireguard-go, wgrelayd
# and wgrelay. Each script exits 0 pass, 1 fail, 77 skip (not root, no namespaces or nftables).
file(GLOB WGR_E2E_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/[0-9][0-9]_*.sh)
# Scenarios that failed in some full runs on a shared 2-core machine and passed in others.
# 04 and 07 hinge on a pair sometimes leaving its first relay before the far side's handshake got
# through; 05 checks that the endpoint stays put for 60 s, and the helper's one-minute direct
# retry can fall inside that window. `make e2e` runs them; `make test` (the CI gate) leaves them
# out until they are made deterministic.
set(WGR_E2E_FLAKY 04_nat_healed 05_loss_no_flap 07_helper_kill9)
foreach(script ${WGR_E2E_SCRIPTS})
  get_filename_component(name ${script} NAME_WE)
  set(labels e2e)
  if(name IN_LIST WGR_E2E_FLAKY)
    set(labels "e2e;flaky")
  endif()
  add_test(NAME e2e_${name} COMMAND sh ${script})
  set_tests_properties(e2e_${name} PROPERTIES
    LABELS "${labels}" RUN_SERIAL TRUE TIMEOUT 240 SKIP_RETURN_CODE 77
    ENVIRONMENT "WGR_SOURCE_DIR=${PROJECT_SOURCE_DIR};WGR_BINARY_DIR=${PROJECT_BINARY_DIR}")
endforeach()
