# Helpers that give every module and program the same shape.

# Warnings for Mimamori's own code (never for third-party headers, which come in as SYSTEM).
function(mimamori_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wcast-align -Wimplicit-fallthrough)
  if(MIMAMORI_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# mimamori_module(NAME SOURCES ... DEPENDS ... LIBS ...)
# Creates the library mimamori_NAME (alias mimamori::NAME) with public headers in
# src/NAME/include. DEPENDS lists other Mimamori modules (checked against DESIGN.md's table
# by the module's own CMakeLists), LIBS external libraries.
function(mimamori_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPENDS;LIBS;PRIVATE_LIBS" ${ARGN})
  if(M_SOURCES)
    add_library(mimamori_${name} STATIC ${M_SOURCES})
    target_include_directories(mimamori_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                                PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    foreach(dep IN LISTS M_DEPENDS)
      target_link_libraries(mimamori_${name} PUBLIC mimamori::${dep})
    endforeach()
    target_link_libraries(mimamori_${name} PUBLIC ${M_LIBS} PRIVATE ${M_PRIVATE_LIBS})
    mimamori_warnings(mimamori_${name})
  else()
    # A module that is not started yet: the shape is visible, nothing is compiled.
    add_library(mimamori_${name} INTERFACE)
    target_include_directories(mimamori_${name} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    foreach(dep IN LISTS M_DEPENDS)
      target_link_libraries(mimamori_${name} INTERFACE mimamori::${dep})
    endforeach()
  endif()
  add_library(mimamori::${name} ALIAS mimamori_${name})
endfunction()

# mimamori_unit_tests(MODULE SOURCES ... [TARGET name] [LIBS ...] [PRIVATE_HEADERS]
#                     [LABELS label] [PROPERTIES ...] [DEPENDS targets...] [MODULE_LIB target])
# The one way to register unit tests: one GoogleTest binary (default MODULE_test) linked to
# mimamori::MODULE, every test registered with CTest by name and labelled with the module
# (or with LABELS' one label instead).
# PRIVATE_HEADERS lets the tests include the module's private headers (parsers, tables);
# PROPERTIES are passed to each discovered test (fixtures, environment); DEPENDS names
# programs the tests start. MODULE_LIB links another build of the module instead (match's
# portable backend on Linux).
function(mimamori_unit_tests module)
  if(NOT MIMAMORI_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "PRIVATE_HEADERS" "TARGET;LABELS;MODULE_LIB" "SOURCES;LIBS;PROPERTIES;DEPENDS"
                        ${ARGN})
  set(target ${module}_test)
  if(T_TARGET)
    set(target ${T_TARGET})
  endif()
  set(module_lib mimamori::${module})
  if(T_MODULE_LIB)
    set(module_lib ${T_MODULE_LIB})
  endif()
  add_executable(${target} ${T_SOURCES})
  target_link_libraries(${target} PRIVATE ${module_lib} GTest::gtest GTest::gmock GTest::gtest_main ${T_LIBS})
  if(T_PRIVATE_HEADERS)
    target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  if(T_DEPENDS)
    add_dependencies(${target} ${T_DEPENDS})
  endif()
  target_compile_definitions(${target} PRIVATE
    MIMAMORI_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    MIMAMORI_CORPUS_DIR="${PROJECT_SOURCE_DIR}/../shared/corpus"
    MIMAMORI_BINARY_DIR="${PROJECT_BINARY_DIR}")
  mimamori_warnings(${target})
  # One label: the module's, or the one LABELS names (gtest_discover_tests cannot carry a list
  # value through to the generated test file).
  set(label ${module})
  if(T_LABELS)
    list(GET T_LABELS 0 label)
  endif()
  if(WIN32)
    # Under wine, every test runs twice: in the C locale and in Japanese (ja_JP.UTF-8 gives the
    # program code page 932 and a Japanese user locale, as on a Japanese Windows).
    # Listing the tests starts wine (seconds when no wine server runs yet).
    gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 120 TEST_SUFFIX ".C"
                         PROPERTIES LABELS ${label} ENVIRONMENT LC_ALL=C ${T_PROPERTIES})
    gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 120 TEST_SUFFIX ".ja_JP"
                         PROPERTIES LABELS ${label} ENVIRONMENT LC_ALL=ja_JP.UTF-8 ${T_PROPERTIES})
    return()
  endif()
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS ${label} ${T_PROPERTIES})
endfunction()

# mimamori_program(NAME SOURCES ... LIBS ...)
function(mimamori_program name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  target_link_libraries(${name} PRIVATE ${P_LIBS} CLI11::CLI11)
  mimamori_warnings(${name})
endfunction()

# mimamori_fuzz_target(NAME SOURCES ... LIBS ... [PRIVATE_HEADERS]): the one way to declare a
# libFuzzer target, built only with the `fuzz` preset (clang). Run it as
# `build/fuzz/bin/NAME -max_total_time=600 CORPUS_DIR`.
function(mimamori_fuzz_target name)
  if(NOT MIMAMORI_FUZZ)
    return()
  endif()
  cmake_parse_arguments(F "PRIVATE_HEADERS" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  if(F_PRIVATE_HEADERS)
    target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()
