#pragma once
// The sensor's smaller commands and the pieces of `run` that only print or pick an output.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/net/output.h"
#include "mimamori/net/pipeline.h"
#include "mimamori/net/rules/rules_update.h"

namespace mimamori::sensor {

/// The EVE destination `outputs.eve.*` names (null when EVE is off and `uplink` is on); `where`
/// says where it goes, for the summary. Throws core::ConfigError on a bad setting.
std::unique_ptr<net::EveSink> open_eve_sink(const core::Config& config, const std::string& log_dir,
                                            bool uplink, std::string& where);

/// The two summary lines at exit (packets, flows, alerts; app-layer flows and where EVE went).
void print_summary(std::FILE* out, const std::vector<std::string>& inputs,
                   const net::PipelineStats& total, const std::string& where);

/// `rules update`: prints what was installed, or logs the failing step. Exit code.
int rules_update(const core::Config& config, const net::rules::RulesUpdateOptions& options);

/// `--control SOCKET COMMAND`: sends the command to a running sensor, prints its answer.
int send_command(const std::string& path, const std::string& command);

}  // namespace mimamori::sensor
