# External dependencies shared by several modules. Everything comes from Debian 12 packages
# installed by scripts/setup; nothing is downloaded at build time. Module-specific libraries
# (libpcap, Vectorscan, libpq, ...) are found in that module's own CMakeLists.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenSSL 3 REQUIRED)

# Boost 1.81 (Debian's versioned packages); Beast/Asio are header-only, JSON is compiled.
find_package(Boost 1.81.0 CONFIG REQUIRED COMPONENTS json)

if(MIMAMORI_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(MIMAMORI_BENCH)
  find_package(benchmark REQUIRED)
endif()
