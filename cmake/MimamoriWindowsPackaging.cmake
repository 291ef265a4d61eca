# The Windows agent's installer: build/windows/packages/mimamori-agent-<version>-x64.msi, made
# with wixl (msitools) by packaging/windows/build-msi (docs/windows.md). Part of the default
# build when wixl is there; signed when MIMAMORI_SIGN_PKCS12 names a code-signing certificate.
find_program(MIMAMORI_WIXL wixl)
set(MIMAMORI_MSI_SIGMA_RULES ${PROJECT_SOURCE_DIR}/../shared/corpus/sigma/rules/windows
    CACHE PATH "Sigma rules packaged in the MSI (installed in the agent's sigma folder)")
# Only rules of this level or above (high: high and critical, 1,226 of SigmaHQ's 2,407 Windows
# rules; every loaded rule costs the agent memory, see docs/windows.md); empty: all.
set(MIMAMORI_MSI_SIGMA_LEVEL high CACHE STRING
    "Lowest level of the Sigma rules packaged in the MSI (low, medium, high, critical; empty: all)")
set(MIMAMORI_MSI_SIGMA_LICENSE ${PROJECT_SOURCE_DIR}/../shared/corpus/sigma/LICENSE
    CACHE FILEPATH "Licence of those rules, installed beside them")
set(MIMAMORI_SIGN_PKCS12 "" CACHE FILEPATH
    "Code-signing certificate (PKCS#12) for the agent's .exe and MSI; empty: not signed")
set(MIMAMORI_SIGN_PASSWORD_FILE "" CACHE FILEPATH "File holding that certificate's password")
set(MIMAMORI_SIGN_TIMESTAMP "" CACHE STRING "RFC 3161 time-stamping URL for the signatures")
if(NOT MIMAMORI_WIXL)
  message(STATUS "wixl not found (scripts/setup installs it): no MSI of the agent")
  return()
endif()

set(msi_dir ${PROJECT_SOURCE_DIR}/packaging/windows)
set(MIMAMORI_AGENT_MSI ${PROJECT_BINARY_DIR}/packages/mimamori-agent-${PROJECT_VERSION}-x64.msi)
set(rules "")
set(rules_licence "")
set(rule_files "")
if(IS_DIRECTORY ${MIMAMORI_MSI_SIGMA_RULES})
  set(rules ${MIMAMORI_MSI_SIGMA_RULES})
  file(GLOB_RECURSE rule_files ${rules}/*.yml)
  if(EXISTS ${MIMAMORI_MSI_SIGMA_LICENSE})
    set(rules_licence ${MIMAMORI_MSI_SIGMA_LICENSE})
  endif()
else()
  message(WARNING "MIMAMORI_MSI_SIGMA_RULES: no folder '${MIMAMORI_MSI_SIGMA_RULES}': the MSI "
                  "is made without Sigma rules")
endif()
add_custom_command(OUTPUT ${MIMAMORI_AGENT_MSI}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/packages
  COMMAND ${CMAKE_COMMAND} -E env MIMAMORI_SIGN_PKCS12=${MIMAMORI_SIGN_PKCS12}
          MIMAMORI_SIGN_PASSWORD_FILE=${MIMAMORI_SIGN_PASSWORD_FILE}
          MIMAMORI_SIGN_TIMESTAMP=${MIMAMORI_SIGN_TIMESTAMP}
          ${msi_dir}/build-msi ${MIMAMORI_AGENT_MSI} $<TARGET_FILE:mimamori-agent> ${PROJECT_VERSION}
          ${PROJECT_BINARY_DIR}/msi "${rules}" "${rules_licence}" "${MIMAMORI_MSI_SIGMA_LEVEL}"
  DEPENDS mimamori-agent ${msi_dir}/build-msi ${msi_dir}/mimamori-agent.wxs ${msi_dir}/agent.yaml
          ${PROJECT_SOURCE_DIR}/packaging/debian/copyright ${rule_files}
  COMMENT "Making mimamori-agent-${PROJECT_VERSION}-x64.msi (wixl)" VERBATIM)
add_custom_target(mimamori-agent-msi ALL DEPENDS ${MIMAMORI_AGENT_MSI})

if(MIMAMORI_TESTS AND MIMAMORI_WINE64)
  # The MSI's tables read back (msiinfo); a small MSI made the same way (three Sigma rules)
  # installed, run as a service and uninstalled under wine in a prefix of the test's own.
  add_test(NAME windows/agent_msi
           COMMAND python3 ${PROJECT_SOURCE_DIR}/tests/windows/agent_msi.py
                   ${PROJECT_BINARY_DIR}/agent_msi ${MIMAMORI_AGENT_MSI} ${PROJECT_VERSION}
                   $<TARGET_FILE:mimamori-agent> ${MIMAMORI_WINEPREFIX} ${MIMAMORI_WINE64}
                   ${PROJECT_SOURCE_DIR}/../shared/corpus "${rules}" "${MIMAMORI_MSI_SIGMA_LEVEL}")
  set_tests_properties(windows/agent_msi PROPERTIES LABELS windows SKIP_RETURN_CODE 77
                       TIMEOUT 120 ENVIRONMENT LC_ALL=C RESOURCE_LOCK wine_scm)
  # Authenticode: the .exe and an MSI signed with a throwaway certificate made by the test.
  add_test(NAME windows/sign
           COMMAND python3 ${PROJECT_SOURCE_DIR}/tests/windows/sign_test.py
                   ${PROJECT_BINARY_DIR}/sign_test ${PROJECT_SOURCE_DIR}/scripts/sign-windows
                   $<TARGET_FILE:mimamori-agent> ${MIMAMORI_AGENT_MSI})
  set_tests_properties(windows/sign PROPERTIES LABELS windows TIMEOUT 60 ENVIRONMENT LC_ALL=C)
endif()
