# Install layout and CPack .deb packages:
#   synmap-sensor     synmap-sensor binary, its systemd unit, example config
#   synmap-collector  synmap-collector + synmap CLI, unit, example configs, certificate tooling
# Build with: cmake --build BUILD --target package   (or: cd BUILD && cpack -G DEB)
include(GNUInstallDirs)

set(SYNMAP_DOCS README.md docs/operations.md docs/counting.md)

if(TARGET synmap-sensor)
  install(TARGETS synmap-sensor RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT sensor)
endif()
install(FILES deploy/systemd/synmap-sensor.service DESTINATION lib/systemd/system COMPONENT sensor)
install(FILES deploy/config/sensor.yaml DESTINATION share/synmap/examples COMPONENT sensor)
install(FILES ${SYNMAP_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/../synmap-sensor COMPONENT sensor)

foreach(bin synmap-collector synmap)
  if(TARGET ${bin})
    install(TARGETS ${bin} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT collector)
  endif()
endforeach()
install(FILES deploy/systemd/synmap-collector.service DESTINATION lib/systemd/system
        COMPONENT collector)
install(FILES deploy/config/collector.yaml deploy/config/names.yaml deploy/config/synmap-cli.yaml
        DESTINATION share/synmap/examples COMPONENT collector)
install(PROGRAMS deploy/make-certs.sh DESTINATION share/synmap COMPONENT collector)
install(FILES deploy/prometheus/alerts.yml DESTINATION share/synmap/examples/prometheus
        COMPONENT collector)
install(FILES ${SYNMAP_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/../synmap-collector
        COMPONENT collector)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME synmap)
set(CPACK_PACKAGE_VENDOR "synmap")
set(CPACK_PACKAGE_CONTACT "synmap maintainers <synmap@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL sensor collector)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SENSOR_PACKAGE_NAME synmap-sensor)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME synmap-collector)
set(CPACK_COMPONENT_SENSOR_DESCRIPTION
    "synmap sensor: captures TCP SYN/ACKs with libpcap and streams them to a synmap collector")
set(CPACK_COMPONENT_COLLECTOR_DESCRIPTION
    "synmap collector and CLI: stores SYN/ACK batches from sensors and answers the synmap command")
set(CPACK_DEBIAN_SENSOR_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/sensor/postinst)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/collector/postinst)
include(CPack)
