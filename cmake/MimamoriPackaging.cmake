# Install rules and CPack: four Debian packages (mimamori-server, mimamori-agent,
# mimamori-sensor, mimamori) and an .rpm of the agent. Built by `scripts/build packages`.
#
# Layout: programs in /usr/bin, configuration in /etc/mimamori (conffiles), systemd units in
# /lib/systemd/system, shared data in /usr/share/mimamori, state in /var/lib/mimamori* (made by
# the maintainer scripts and the units' StateDirectory=, never shipped in a package).
include(GNUInstallDirs)

# Versions: the project's, unless a packager gives another (the upgrade test builds a higher one).
set(MIMAMORI_PACKAGE_VERSION "${PROJECT_VERSION}" CACHE STRING "version of the built packages")
set(MIMAMORI_PACKAGE_RELEASE "1" CACHE STRING "Debian revision / RPM release of the packages")
set(MIMAMORI_PACKAGE_CONTACT "Mimamori maintainers <packages@mimamori.example.jp>"
    CACHE STRING "Maintainer field of the packages (the provider that builds them)")
# Debian 12 keeps units in /lib/systemd/system (merged /usr makes it the same folder).
set(MIMAMORI_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "where systemd units are installed")
# Destinations are relative to the prefix (/usr in the packages: CPACK_PACKAGING_INSTALL_PREFIX),
# except the configuration and the units, which live at fixed places whatever the prefix.

set(pkg ${PROJECT_SOURCE_DIR}/packaging)
set(etc /etc/mimamori)

install(TARGETS mimamori-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(TARGETS mimamori-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
install(TARGETS mimamori-sensor RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT sensor)
install(TARGETS mimamori RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
install(PROGRAMS ${pkg}/mimamori-repo DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)

# Configuration (conffiles); postinst makes the server's and the sensor's 0640, readable by
# their group only, since they may hold tokens (shipped 0644 as Debian policy expects).
foreach(c server agent sensor)
  install(FILES ${pkg}/mimamori-${c}.yaml DESTINATION ${etc} RENAME ${c}.yaml COMPONENT ${c})
endforeach()
install(FILES ${pkg}/systemd/mimamori-server.service DESTINATION ${MIMAMORI_SYSTEMD_UNIT_DIR}
        COMPONENT server)
install(FILES ${pkg}/systemd/mimamori-agent.service DESTINATION ${MIMAMORI_SYSTEMD_UNIT_DIR}
        COMPONENT agent)
install(FILES ${pkg}/systemd/mimamori-sensor@.service ${pkg}/systemd/mimamori-sensor-inline.service
        DESTINATION ${MIMAMORI_SYSTEMD_UNIT_DIR} COMPONENT sensor)

# Shared data. The web console's bundle goes to ${MIMAMORI_WEB_DIR} (top CMakeLists.txt), the
# packaged server.yaml's server.static_dir; the folder exists (empty) until its build installs it.
install(DIRECTORY DESTINATION ${MIMAMORI_WEB_DIR} COMPONENT server)

# Documentation: README and the copyright file in each package's doc folder (Debian policy 12.5).
foreach(c server agent sensor cli)
  if(c STREQUAL "cli")
    set(name mimamori)
  else()
    set(name mimamori-${c})
  endif()
  set(doc ${CMAKE_INSTALL_DATAROOTDIR}/doc/${name})
  install(FILES ${pkg}/debian/copyright DESTINATION ${doc} COMPONENT ${c})
  install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${doc} COMPONENT ${c})
  # changelog.Debian.gz, made at configure time from the version (gzip -9n: reproducible).
  set(cl ${PROJECT_BINARY_DIR}/packaging/${name}/changelog.Debian)
  string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  file(WRITE ${cl}
       "${name} (${MIMAMORI_PACKAGE_VERSION}-${MIMAMORI_PACKAGE_RELEASE}) unstable; urgency=medium\n\n"
       "  * Release ${MIMAMORI_PACKAGE_VERSION}; see README.md for what changed.\n\n"
       " -- ${MIMAMORI_PACKAGE_CONTACT}  ${date}\n")
  execute_process(COMMAND gzip -9nf ${cl})
  install(FILES ${cl}.gz DESTINATION ${doc} COMPONENT ${c})
  # Overrides, each with the reason in a comment (packaging/debian/<component>/lintian-overrides).
  if(EXISTS ${pkg}/debian/${c}/lintian-overrides)
    install(FILES ${pkg}/debian/${c}/lintian-overrides
            DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides RENAME ${name}
            COMPONENT ${c})
  endif()
endforeach()

# --- CPack ------------------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME mimamori)
set(CPACK_PACKAGE_VENDOR "Mimamori")
set(CPACK_PACKAGE_CONTACT "${MIMAMORI_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_VERSION ${MIMAMORI_PACKAGE_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL server agent sensor cli)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${MIMAMORI_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://mimamori.invalid/")

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME mimamori-server)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME mimamori-agent)
set(CPACK_DEBIAN_SENSOR_PACKAGE_NAME mimamori-sensor)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME mimamori)
# First line: the synopsis; the rest: the extended description (lines under 80 characters).
set(CPACK_DEBIAN_SERVER_DESCRIPTION "Mimamori SOC back end: ingest, triage, incidents and API
The provider's back end of the Mimamori security-monitoring service for small
businesses: devices enroll and send events; alerts are triaged into incidents
with Japanese explanations and notified. It also serves the device packages
to customers' machines from a signed repository (mimamori-repo).")
set(CPACK_DEBIAN_AGENT_DESCRIPTION "Mimamori endpoint agent: logins, files, ransomware, processes
Watches a Linux machine (authentication logs, file integrity, ransomware
behaviour, process creation, persistence, YARA) and sends its events to a
mimamori-server through a durable spool.")
set(CPACK_DEBIAN_SENSOR_DESCRIPTION "Mimamori network sensor with Suricata-compatible rules
Captures a network interface, parses DNS, HTTP, TLS and more, matches
Suricata-compatible rules and sends EVE records to a mimamori-server
through a durable spool.")
set(CPACK_DEBIAN_CLI_DESCRIPTION "command line of Mimamori: server administration and log hunting
Administers a mimamori-server store (init, customers, enrollment codes,
backups) and hunts through Windows event logs with Sigma rules.")
set(CPACK_RPM_AGENT_PACKAGE_SUMMARY "Mimamori endpoint agent: logins, files, ransomware, processes")
set(CPACK_RPM_AGENT_PACKAGE_DESCRIPTION "Watches a Linux machine (authentication logs, file integrity, ransomware
behaviour, process creation, persistence, YARA) and sends its events to a
mimamori-server through a durable spool.")
# mimamori-repo (the device packages' repository) needs apt-ftparchive and gpg.
set(CPACK_DEBIAN_SERVER_PACKAGE_RECOMMENDS "mimamori, apt-utils, gnupg")
set(CPACK_DEBIAN_SERVER_PACKAGE_SUGGESTS postgresql)
# adduser makes the services' system users in postinst.
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_SENSOR_PACKAGE_DEPENDS adduser)

# Maintainer scripts and conffiles per package (packaging/debian/<component>/).
foreach(c server agent sensor)
  string(TOUPPER ${c} C)
  set(extra)
  foreach(s postinst prerm postrm)
    if(EXISTS ${pkg}/debian/${c}/${s})
      list(APPEND extra ${pkg}/debian/${c}/${s})
    endif()
  endforeach()
  set(cf ${PROJECT_BINARY_DIR}/packaging/mimamori-${c}/conffiles)
  file(WRITE ${cf} "${etc}/${c}.yaml\n")
  list(APPEND extra ${cf})
  set(CPACK_DEBIAN_${C}_PACKAGE_CONTROL_EXTRA ${extra})
endforeach()

# RPM: the agent only (RHEL-family servers are endpoints, not the provider's server).
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE ${MIMAMORI_PACKAGE_RELEASE})
set(CPACK_RPM_PACKAGE_LICENSE "Unspecified")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_AGENT_PACKAGE_NAME mimamori-agent)
set(CPACK_RPM_AGENT_USER_FILELIST "%config(noreplace) ${etc}/agent.yaml")
set(CPACK_RPM_AGENT_POST_INSTALL_SCRIPT_FILE ${pkg}/rpm/agent-post.sh)
set(CPACK_RPM_AGENT_PRE_UNINSTALL_SCRIPT_FILE ${pkg}/rpm/agent-preun.sh)
set(CPACK_RPM_AGENT_POST_UNINSTALL_SCRIPT_FILE ${pkg}/rpm/agent-postun.sh)
# Folders the base system owns, not the package.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /etc /lib /lib/systemd /lib/systemd/system
    /usr/share/lintian /usr/share/lintian/overrides)
# `cpack -G RPM` packs the agent only (packaging/cpack-options.cmake).
set(CPACK_PROJECT_CONFIG_FILE ${pkg}/cpack-options.cmake)
include(CPack)
