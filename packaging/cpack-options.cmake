# Read by cpack for each generator: the .rpm is made for the agent alone.
if(CPACK_GENERATOR STREQUAL "RPM")
  set(CPACK_COMPONENTS_ALL agent)
endif()
