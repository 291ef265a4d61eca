# Dependencies of the Windows build (cmake/mingw-w64.cmake). Debian has no mingw packages of
# them, so:
# - fmt, spdlog and CLI11 are used header-only, from Debian's own headers (libfmt-dev,
#   libspdlog-dev, libcli11-dev),
#   seen through a folder of links in the build tree so that no other Linux header is found;
# - PCRE2, yaml-cpp and zstd (libzstd) are cross-compiled in the build tree from their Debian
#   source packages,
#   which scripts/setup fetches with `apt-get source` into MIMAMORI_DEBIAN_SOURCES (nothing of
#   them is kept in the repository);
# - GoogleTest is cross-compiled from Debian's googletest source (/usr/src/googletest);
# - OpenSSL, libcurl, libarchive and Vectorscan have no Windows build here: SHA-256 uses BCrypt,
#   `match` uses its PCRE2 backend, and the HTTP client and rule archives are left out (see
#   docs/windows.md).
include(ExternalProject)
find_package(Threads REQUIRED)

set(MIMAMORI_DEBIAN_SOURCES /var/cache/mimamori/debian-src
    CACHE PATH "Folder of Debian source packages (.dsc and their files) fetched by scripts/setup")

# Header-only fmt and spdlog.
set(win_headers ${PROJECT_BINARY_DIR}/debian-headers)
file(MAKE_DIRECTORY ${win_headers})
foreach(lib fmt spdlog CLI)
  if(NOT EXISTS /usr/include/${lib})
    message(FATAL_ERROR "/usr/include/${lib} is missing: run scripts/setup (the -dev package)")
  endif()
  file(CREATE_LINK /usr/include/${lib} ${win_headers}/${lib} SYMBOLIC)
endforeach()
add_library(fmt_header_only INTERFACE)
target_include_directories(fmt_header_only SYSTEM INTERFACE ${win_headers})
target_compile_definitions(fmt_header_only INTERFACE FMT_HEADER_ONLY=1)
add_library(fmt::fmt ALIAS fmt_header_only)
add_library(spdlog_header_only INTERFACE)
target_link_libraries(spdlog_header_only INTERFACE fmt_header_only Threads::Threads)
target_compile_definitions(spdlog_header_only INTERFACE SPDLOG_FMT_EXTERNAL=1)
add_library(spdlog::spdlog ALIAS spdlog_header_only)
add_library(cli11_header_only INTERFACE)  # CLI11 is header-only (libcli11-dev)
target_include_directories(cli11_header_only SYSTEM INTERFACE ${win_headers})
add_library(CLI11::CLI11 ALIAS cli11_header_only)

# mimamori_debian_library(NAME PACKAGE pkg LIB file [SUBDIR dir] DEFINES ... CMAKE_ARGS ...):
# unpacks the newest PACKAGE_*.dsc of MIMAMORI_DEBIAN_SOURCES with dpkg-source (Debian's
# patches applied), builds it with this toolchain (its CMake project in SUBDIR, if not at the
# top) and makes the imported target NAME.
function(mimamori_debian_library name)
  cmake_parse_arguments(D "" "PACKAGE;LIB;SUBDIR" "DEFINES;CMAKE_ARGS" ${ARGN})
  file(GLOB dscs ${MIMAMORI_DEBIAN_SOURCES}/${D_PACKAGE}_*.dsc)
  if(NOT dscs)
    message(FATAL_ERROR "No Debian source package of ${D_PACKAGE} in ${MIMAMORI_DEBIAN_SOURCES}: "
                        "run scripts/setup (it fetches it with apt-get source)")
  endif()
  list(SORT dscs COMPARE NATURAL)
  list(GET dscs -1 dsc)
  set(prefix ${PROJECT_BINARY_DIR}/debian-src/${D_PACKAGE})
  set(install ${prefix}/install)
  set(launcher "")
  if(CCACHE_PROGRAM)  # paths hashed relative to the build tree, as ours are to the sources
    set(launcher ${CMAKE_COMMAND}|-E|env|CCACHE_BASEDIR=${PROJECT_BINARY_DIR}|${CCACHE_PROGRAM})
  endif()
  ExternalProject_Add(${D_PACKAGE}_build
    PREFIX ${prefix}
    SOURCE_DIR ${prefix}/source
    SOURCE_SUBDIR "${D_SUBDIR}"
    DOWNLOAD_COMMAND ${CMAKE_COMMAND} -E rm -rf <SOURCE_DIR>
      COMMAND dpkg-source --no-check -x ${dsc} <SOURCE_DIR>
    UPDATE_COMMAND ""
    LIST_SEPARATOR |
    CMAKE_ARGS -DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE} -DCMAKE_BUILD_TYPE=Release
               -DCMAKE_INSTALL_PREFIX=${install} -DCMAKE_INSTALL_LIBDIR=lib
               -DCMAKE_C_COMPILER_LAUNCHER=${launcher} -DCMAKE_CXX_COMPILER_LAUNCHER=${launcher}
               -DBUILD_SHARED_LIBS=OFF ${D_CMAKE_ARGS}
    BUILD_COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> -j2
    BUILD_BYPRODUCTS ${install}/lib/${D_LIB}
    LOG_DOWNLOAD ON LOG_CONFIGURE ON LOG_BUILD ON LOG_INSTALL ON LOG_OUTPUT_ON_FAILURE ON)
  file(MAKE_DIRECTORY ${install}/include)
  add_library(${name} STATIC IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES IMPORTED_LOCATION ${install}/lib/${D_LIB}
                                           INTERFACE_INCLUDE_DIRECTORIES ${install}/include
                                           INTERFACE_COMPILE_DEFINITIONS "${D_DEFINES}")
  add_dependencies(${name} ${D_PACKAGE}_build)
endfunction()

mimamori_debian_library(pcre2_8 PACKAGE pcre2 LIB libpcre2-8.a DEFINES PCRE2_STATIC
  CMAKE_ARGS -DPCRE2_BUILD_PCRE2_8=ON -DPCRE2_BUILD_PCRE2_16=OFF -DPCRE2_BUILD_PCRE2_32=OFF
             -DPCRE2_SUPPORT_JIT=ON -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF
             -DPCRE2_SUPPORT_LIBBZ2=OFF -DPCRE2_SUPPORT_LIBZ=OFF -DPCRE2_SUPPORT_LIBEDIT=OFF
             -DPCRE2_SUPPORT_LIBREADLINE=OFF)
# zstd for the uplink's batches (as on Linux): the library only, single-threaded (one batch at
# a time), without the legacy formats.
mimamori_debian_library(zstd_static PACKAGE libzstd LIB libzstd.a SUBDIR build/cmake
  CMAKE_ARGS -DZSTD_BUILD_PROGRAMS=OFF -DZSTD_BUILD_TESTS=OFF -DZSTD_BUILD_CONTRIB=OFF
             -DZSTD_BUILD_SHARED=OFF -DZSTD_BUILD_STATIC=ON -DZSTD_MULTITHREAD_SUPPORT=OFF
             -DZSTD_LEGACY_SUPPORT=OFF)
mimamori_debian_library(yaml-cpp PACKAGE yaml-cpp LIB libyaml-cpp.a
  CMAKE_ARGS -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF -DYAML_CPP_BUILD_CONTRIB=OFF
             -DYAML_BUILD_SHARED_LIBS=OFF)

if(MIMAMORI_TESTS)
  # GoogleTest from Debian's source (it defines the GTest:: targets).
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  set(gtest_disable_pthreads OFF CACHE BOOL "" FORCE)
  add_subdirectory(/usr/src/googletest ${PROJECT_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  include(GoogleTest)
endif()

# wine64 runs the tests (CTest's cross-compiling emulator) in a prefix of this build tree, made
# once at build time: creating a prefix takes tens of seconds, running a test in one does not.
find_program(MIMAMORI_WINE64 wine64 PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(MIMAMORI_WINE64)
  set(MIMAMORI_WINEPREFIX ${PROJECT_BINARY_DIR}/wine-prefix)
  get_filename_component(wine_dir ${MIMAMORI_WINE64} DIRECTORY)
  set(MIMAMORI_WINESERVER ${wine_dir}/wineserver)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/wine-run.sh.in ${PROJECT_BINARY_DIR}/wine-run.sh
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                  WORLD_READ WORLD_EXECUTE @ONLY)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PROJECT_BINARY_DIR}/wine-run.sh)
  add_custom_command(OUTPUT ${MIMAMORI_WINEPREFIX}/.made
    COMMAND ${CMAKE_COMMAND} -E env WINEPREFIX=${MIMAMORI_WINEPREFIX} WINEARCH=win64
            WINEDEBUG=-all WINEDLLOVERRIDES=mscoree,mshtml= ${MIMAMORI_WINE64} wineboot --init
    COMMAND ${CMAKE_COMMAND} -E env WINEPREFIX=${MIMAMORI_WINEPREFIX} ${MIMAMORI_WINESERVER} -w
    COMMAND ${CMAKE_COMMAND} -E touch ${MIMAMORI_WINEPREFIX}/.made
    COMMENT "Making the wine prefix for the tests (once per build tree)")
  # wineboot links the profile's folders to the Unix home folder: the agent's collectors would
  # watch it and write canaries into it. Real folders instead (existing trees at their next build).
  add_custom_command(OUTPUT ${MIMAMORI_WINEPREFIX}/.sandboxed
    COMMAND sh ${PROJECT_SOURCE_DIR}/cmake/wine-sandbox.sh ${MIMAMORI_WINEPREFIX}
    COMMAND ${CMAKE_COMMAND} -E touch ${MIMAMORI_WINEPREFIX}/.sandboxed
    DEPENDS ${MIMAMORI_WINEPREFIX}/.made ${PROJECT_SOURCE_DIR}/cmake/wine-sandbox.sh
    COMMENT "Wine prefix: the profile's folders as real folders, not links to the home folder")
  add_custom_target(wine_prefix ALL
    DEPENDS ${MIMAMORI_WINEPREFIX}/.made ${MIMAMORI_WINEPREFIX}/.sandboxed)
elseif(MIMAMORI_TESTS)
  message(WARNING "wine64 not found (scripts/setup installs it): the tests cannot run here")
endif()
