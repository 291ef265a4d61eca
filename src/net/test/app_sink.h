#pragma once
// A sink for app-layer parser tests: keeps what a parser reports (progress points, records as
// JSON text, anomalies) and, at each progress point, the buffers detectors would see then.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/app.h"
#include "mimamori/core/eve.h"

namespace mimamori::net::apptest {

class RecordingSink : public AppSink {
 public:
  struct Record {
    std::string type, json;
    Direction dir;
  };

  /// The parser whose buffers are read at progress points; `buffers` lists which.
  RecordingSink(const AppParser* parser, std::vector<Buffer> buffers)
      : parser_(parser), wanted_(std::move(buffers)) {}

  void progress(const AppEvent& event) override {
    progress_.push_back(event.progress);
    std::map<Buffer, std::string> seen;
    for (Buffer b : wanted_)
      if (parser_->buffer_count(b) > 0) seen[b] = std::string(parser_->buffer(b, 0));
    buffers_.push_back(std::move(seen));
  }
  void record(std::string_view type, const core::Fields& fields, Direction dir) override {
    std::string json;
    core::append_json_members(json, fields);
    if (!json.empty() && json[0] == ',') json.erase(0, 1);
    records_.push_back({std::string(type), json, dir});
  }
  void anomaly(std::string_view event) override { anomalies_.emplace_back(event); }

  std::vector<AppProgress> progress_;
  std::vector<std::map<Buffer, std::string>> buffers_;  ///< per progress point
  std::vector<Record> records_;
  std::vector<std::string> anomalies_;

 private:
  const AppParser* parser_;
  std::vector<Buffer> wanted_;
};

/// The buffer `b` as seen at the first progress point `p`, or "<none>".
inline std::string buffer_at(const RecordingSink& s, AppProgress p, Buffer b) {
  for (std::size_t i = 0; i < s.progress_.size(); ++i) {
    if (s.progress_[i] != p) continue;
    auto it = s.buffers_[i].find(b);
    return it == s.buffers_[i].end() ? "<none>" : it->second;
  }
  return "<none>";
}

}  // namespace mimamori::net::apptest
