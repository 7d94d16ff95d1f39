# sim_smoke: every wgrelay-sim scenario at 200 relays for 10 simulated minutes (churn, loss,
# a partition that heals), failing unless the figures point the expected way (--check): new
# descriptors reach 99 % of relays, stores agree after the heal, relays that join look others
# up in the DHT, a larger K meets more often, both sides pick the same relay, DHT clients find
# relays and their items. A few seconds.
if(TARGET wgrelay-sim)
  add_test(NAME sim_smoke
           COMMAND wgrelay-sim --check --seed 1 --relays 200 --hours 0.1667 --refresh-h 0.25
                   --warmup 1 --cut-at 3 --cut-len 2 --meet-relays 200 --pairs 2000
                   --dht-relays 200 --dht-clients 20 all)
  set_tests_properties(sim_smoke PROPERTIES LABELS integration TIMEOUT 120)
endif()
# sim_threads: the spread scenario with 1 and with 3 threads gives the same figure files, byte
# for byte (sim/netsim/spread.c: one seed, one result, whatever the threads). A few seconds.
if(TARGET wgrelay-sim)
  add_test(NAME sim_threads
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/sim_threads.sh $<TARGET_FILE:wgrelay-sim>)
  set_tests_properties(sim_threads PROPERTIES LABELS integration TIMEOUT 120)
endif()
