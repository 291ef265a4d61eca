// SSH: the identification banner of each side ("SSH-2.0-OpenSSH_8.4p1"), as Suricata's
// ssh record gives it; the encrypted part is not parsed.

#include <string>

#include "app/app.h"

namespace mimamori::net {
namespace {

class SshParser final : public AppParser {
 public:
  AppProto proto() const override { return AppProto::kSsh; }
  void parse(Direction dir, std::string_view data, AppSink& sink) override {
    int s = dir == Direction::kToServer ? 0 : 1;
    if (have_[s]) return;
    std::string& b = line_[s];
    std::size_t nl = data.find('\n');
    b.append(data.substr(0, nl));
    if (nl == std::string_view::npos) {
      if (b.size() > 255) have_[s] = true;
      return;
    }
    // Lines before the banner (allowed from servers) do not start with "SSH-".
    if (b.compare(0, 4, "SSH-") != 0) {
      b.clear();
      parse(dir, data.substr(nl + 1), sink);
      return;
    }
    if (!b.empty() && b.back() == '\r') b.pop_back();
    have_[s] = true;
    std::string_view line = b;
    line.remove_prefix(4);
    std::size_t dash = line.find('-');
    proto_[s] = std::string(line.substr(0, dash));
    software_[s] =
        dash == std::string_view::npos ? std::string{} : std::string(line.substr(dash + 1));
    std::size_t sp = software_[s].find(' ');
    if (sp != std::string::npos) software_[s].resize(sp);
    current_ = s;
    sink.progress({AppProto::kSsh, AppProgress::kSshBanner, dir, 0});
    if (have_[0] && have_[1] && !logged_) log(sink, dir);
  }
  void close(AppSink& sink) override {
    if (!logged_ && (have_[0] || have_[1])) log(sink, Direction::kToServer);
  }
  std::string_view buffer(Buffer b, std::size_t index) const override {
    if (index) return {};
    if (b == Buffer::kSshProto) return proto_[current_];
    if (b == Buffer::kSshSoftware) return software_[current_];
    return {};
  }
  std::size_t buffer_count(Buffer b) const override {
    return (b == Buffer::kSshProto || b == Buffer::kSshSoftware) && have_[current_] ? 1 : 0;
  }
  void append_record(core::Fields& out) const override { write(out); }
  void reset() override {
    for (int s = 0; s < 2; ++s) {
      line_[s].clear();
      proto_[s].clear();
      software_[s].clear();
      have_[s] = false;
    }
    logged_ = false;
    current_ = 0;
  }

 private:
  void write(core::Fields& f) const {
    f.begin_object("ssh");
    static constexpr std::string_view kSide[2] = {"client", "server"};
    for (int s = 0; s < 2; ++s) {
      if (!have_[s] || proto_[s].empty()) continue;
      f.begin_object(kSide[s])
          .add("proto_version", proto_[s])
          .add("software_version", software_[s])
          .end();
    }
    f.end();
  }
  void log(AppSink& sink, Direction dir) {
    logged_ = true;
    scratch_fields().clear();
    write(scratch_fields());
    sink.record("ssh", scratch_fields(), dir);
  }
  std::string line_[2], proto_[2], software_[2];
  bool have_[2] = {false, false};
  bool logged_ = false;
  int current_ = 0;
};

}  // namespace

std::unique_ptr<AppParser> make_ssh_parser() { return std::make_unique<SshParser>(); }

}  // namespace mimamori::net
