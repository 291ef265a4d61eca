// Event logs, the platform-neutral part: the XML flattener (one way to name fields for live and
// replayed records), Windows-shaped bookmarks, and the replay source over EVTX files.

#include "mimamori/host/event_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <filesystem>
#include <system_error>

#include "mimamori/evtx/evtx.h"

namespace mimamori::host {

namespace fs = std::filesystem;
using core::make_error;

namespace {

// Paths as UTF-8 both ways (on Windows, a path's native form is UTF-16).
std::string utf8(const fs::path& p) {
  auto s = p.u8string();
  return std::string(s.begin(), s.end());
}
fs::path from_utf8(std::string_view s) { return fs::path(std::u8string(s.begin(), s.end())); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Bookmarks.

std::string make_bookmark(std::string_view channel, uint64_t record_id) {
  std::string out = "<BookmarkList><Bookmark Channel='";
  for (char c : channel) {
    if (c == '\'')
      out += "&apos;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else
      out.push_back(c);
  }
  out += "' RecordId='" + std::to_string(record_id) + "' IsCurrent='true'/></BookmarkList>";
  return out;
}

uint64_t bookmark_record_id(std::string_view bookmark) {
  auto at = bookmark.find("RecordId=");
  if (at == std::string_view::npos || at + 10 > bookmark.size()) return 0;
  std::string_view rest = bookmark.substr(at + 10);  // after the opening quote
  uint64_t id = 0;
  std::from_chars(rest.data(), rest.data() + rest.size(), id);
  return id;
}

// ---------------------------------------------------------------------------------------------
// XML to fields.

namespace {

struct XmlNode {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attrs;
  std::string text;
  bool has_text = false;  // an explicit end tag with character data (even empty)
  std::vector<uint32_t> children;
};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

class XmlParser {
 public:
  explicit XmlParser(std::string_view s) : s_(s) {}

  core::Status parse(std::vector<XmlNode>& nodes) {
    nodes.clear();
    nodes.emplace_back();  // the document
    std::vector<uint32_t> open{0};
    while (p_ < s_.size()) {
      if (s_[p_] != '<') {
        std::size_t lt = s_.find('<', p_);
        if (lt == std::string_view::npos) lt = s_.size();
        if (auto st = unescape(s_.substr(p_, lt - p_), nodes[open.back()].text); !st) return st;
        p_ = lt;
        continue;
      }
      if (s_.compare(p_, 4, "<!--") == 0) {
        std::size_t e = s_.find("-->", p_);
        if (e == std::string_view::npos) return error("comment without its end");
        p_ = e + 3;
      } else if (s_.compare(p_, 2, "<?") == 0) {
        std::size_t e = s_.find("?>", p_);
        if (e == std::string_view::npos) return error("declaration without its end");
        p_ = e + 2;
      } else if (s_.compare(p_, 9, "<![CDATA[") == 0) {
        std::size_t e = s_.find("]]>", p_);
        if (e == std::string_view::npos) return error("CDATA without its end");
        nodes[open.back()].text += s_.substr(p_ + 9, e - p_ - 9);
        p_ = e + 3;
      } else if (s_.compare(p_, 2, "</") == 0) {
        std::size_t e = s_.find('>', p_);
        if (e == std::string_view::npos) return error("end tag without '>'");
        std::string_view name = trim(s_.substr(p_ + 2, e - p_ - 2));
        if (open.size() < 2 || nodes[open.back()].name != name)
          return error("end tag '" + std::string(name) + "' does not close the open element");
        nodes[open.back()].has_text = true;
        open.pop_back();
        p_ = e + 1;
      } else {
        ++p_;
        std::size_t b = p_;
        while (p_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[p_])) &&
               s_[p_] != '>' && s_[p_] != '/')
          ++p_;
        if (p_ == b) return error("element without a name");
        uint32_t id = static_cast<uint32_t>(nodes.size());
        nodes.emplace_back();
        nodes[id].name = s_.substr(b, p_ - b);
        nodes[open.back()].children.push_back(id);
        for (;;) {
          while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
          if (p_ >= s_.size()) return error("tag without its end");
          if (s_[p_] == '>') {
            ++p_;
            open.push_back(id);
            break;
          }
          if (s_.compare(p_, 2, "/>") == 0) {
            p_ += 2;
            break;
          }
          std::size_t eq = s_.find('=', p_);
          if (eq == std::string_view::npos || eq + 1 >= s_.size())
            return error("attribute without a value");
          std::string name(trim(s_.substr(p_, eq - p_)));
          p_ = eq + 1;
          while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
          if (p_ >= s_.size() || (s_[p_] != '"' && s_[p_] != '\''))
            return error("attribute '" + name + "' without quotes");
          char q = s_[p_++];
          std::size_t e = s_.find(q, p_);
          if (e == std::string_view::npos) return error("attribute '" + name + "' not closed");
          std::string value;
          if (auto st = unescape(s_.substr(p_, e - p_), value); !st) return st;
          nodes[id].attrs.emplace_back(std::move(name), std::move(value));
          p_ = e + 1;
        }
      }
    }
    if (open.size() != 1)
      return make_error("event XML: element '{}' is not closed", nodes[open.back()].name);
    return {};
  }

 private:
  static std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  }

  core::Status error(const std::string& what) const {
    return make_error("event XML at byte {}: {}", p_, what);
  }

  core::Status unescape(std::string_view in, std::string& out) const {
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '&') {
        out.push_back(in[i]);
        continue;
      }
      std::size_t semi = in.find(';', i);
      if (semi == std::string_view::npos) return error("'&' without ';'");
      std::string_view ent = in.substr(i + 1, semi - i - 1);
      if (ent == "amp") {
        out.push_back('&');
      } else if (ent == "lt") {
        out.push_back('<');
      } else if (ent == "gt") {
        out.push_back('>');
      } else if (ent == "quot") {
        out.push_back('"');
      } else if (ent == "apos") {
        out.push_back('\'');
      } else if (ent.size() > 1 && ent[0] == '#') {
        uint32_t cp = 0;
        bool hex = ent[1] == 'x' || ent[1] == 'X';
        std::string_view digits = ent.substr(hex ? 2 : 1);
        auto r = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
        if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || cp > 0x10ffff)
          return error("bad character reference '&" + std::string(ent) + ";'");
        append_utf8(out, cp);
      } else {
        return error("unknown entity '&" + std::string(ent) + ";'");
      }
      i = semi;
    }
    return {};
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

std::string trimmed(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// Windows renders the System section's times with 7 decimals (100 ns; older versions 9); the
// EVTX reader with microseconds. Other values are rendered as stored, by both.
std::string normalised(std::string v) {
  // 2024-01-02T03:04:05.1234567Z -> 2024-01-02T03:04:05.123456Z
  if (v.size() >= 28 && v.back() == 'Z' && v[4] == '-' && v[10] == 'T' && v[19] == '.') {
    std::size_t digits = v.size() - 21;
    if (digits > 6 &&
        std::all_of(v.begin() + 20, v.end() - 1, [](char c) { return c >= '0' && c <= '9'; }))
      v = v.substr(0, 26) + "Z";
  }
  return v;
}

}  // namespace

core::Status event_xml_fields(std::string_view xml,
                              std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  static thread_local std::vector<XmlNode> nodes;
  XmlParser parser(xml);
  if (auto st = parser.parse(nodes); !st) return st;
  auto has_child_elements = [&](const XmlNode& n) { return !n.children.empty(); };
  bool system = false;
  auto add = [&](const std::string& n1, std::string_view n2, std::string_view value) {
    std::string name = n1;
    if (!n2.empty()) {
      name += '_';
      name += n2;
    }
    out.emplace_back(std::move(name), system ? normalised(trimmed(value)) : trimmed(value));
  };
  auto attrs = [&](const XmlNode& n) {
    // Namespaces too (UserData's elements carry theirs): the reader names them the same way.
    for (const auto& [k, v] : n.attrs) add(n.name, k, v);
  };
  // Leaf elements below `el` by their own name (EventData's Data by Name, UserData, ...).
  auto leaves = [&](auto&& self, const XmlNode& el) -> void {
    for (uint32_t c : el.children) {
      const XmlNode& n = nodes[c];
      if (has_child_elements(n)) {
        self(self, n);
        continue;
      }
      const std::string* data_name = nullptr;
      if (n.name == "Data")
        for (const auto& [k, v] : n.attrs)
          if (k == "Name") data_name = &v;
      if (data_name) {
        std::string name = *data_name;
        // Sigma rules name `Threat Name` as `ThreatName`: names lose their spaces here.
        name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
        out.emplace_back(std::move(name), trimmed(n.text));
      } else {
        if (n.has_text || n.attrs.empty()) add(n.name, {}, n.text);
        attrs(n);
      }
    }
  };
  for (uint32_t ev : nodes[0].children) {
    for (uint32_t sec : nodes[ev].children) {
      const XmlNode& s = nodes[sec];
      system = s.name == "System";
      if (system) {
        for (uint32_t e : s.children) {
          const XmlNode& n = nodes[e];
          if (n.has_text && n.children.empty()) add(n.name, {}, n.text);
          attrs(n);
        }
      } else {
        leaves(leaves, s);
      }
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Replay of EVTX files.

namespace {

class ReplaySource : public EventLogSource {
 public:
  ReplaySource(std::vector<std::pair<std::string, std::string>> files, EventLogBookmarks marks)
      : files_(std::move(files)), marks_(std::move(marks)) {}

  core::Result<std::size_t> poll(const std::function<void(const EventLogRecord&)>& on_record,
                                 std::size_t max, std::chrono::milliseconds) override {
    std::size_t n = 0;
    while (n < max) {
      if (queue_.empty() && !load_next()) break;
      if (queue_.empty()) continue;
      EventLogRecord r = std::move(queue_.front());
      queue_.pop_front();
      marks_[r.source] = make_bookmark(r.source, r.record_id);
      on_record(r);
      ++n;
    }
    return n;
  }

  EventLogBookmarks bookmarks() const override { return marks_; }
  bool finished() const override { return queue_.empty() && next_ >= files_.size(); }

 private:
  // Reads the next file's records after its bookmark into the queue; false when none is left.
  bool load_next() {
    if (next_ >= files_.size()) return false;
    const auto& [path, key] = files_[next_++];
    uint64_t after = 0;
    if (auto it = marks_.find(key); it != marks_.end()) after = bookmark_record_id(it->second);
    auto f = evtx::EvtxFile::open(path);
    if (!f) {
      spdlog::warn("replay: {}; file skipped", f.error().message);
      return true;
    }
    std::vector<EventLogRecord> recs;
    f->read(
        [&](const evtx::EvtxRecord& r) {
          if (r.record_id <= after) return;
          EventLogRecord e;
          e.source = key;
          e.record_id = r.record_id;
          r.append_xml(e.xml);
          recs.push_back(std::move(e));
        },
        [&](const evtx::EvtxProblem& p) {
          spdlog::warn("replay: {}:{}: {}", p.file, p.offset, p.what);
        });
    // As a live subscription delivers them: in record order.
    std::stable_sort(recs.begin(), recs.end(),
                     [](const auto& a, const auto& b) { return a.record_id < b.record_id; });
    for (auto& r : recs) queue_.push_back(std::move(r));
    return true;
  }

  std::vector<std::pair<std::string, std::string>> files_;  // path, bookmark key
  std::size_t next_ = 0;
  EventLogBookmarks marks_;
  std::deque<EventLogRecord> queue_;
};

}  // namespace

core::Result<std::unique_ptr<EventLogSource>> open_replay_source(
    const std::vector<std::string>& paths, const EventLogBookmarks& bookmarks) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& p : paths) {
    std::error_code ec;
    fs::path root = from_utf8(p);
    if (fs::is_directory(root, ec)) {
      std::vector<std::pair<std::string, std::string>> found;
      for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->path().extension() != ".evtx") continue;
        std::string key = utf8(it->path().lexically_relative(root));
        std::replace(key.begin(), key.end(), '\\', '/');
        found.emplace_back(utf8(it->path()), std::move(key));
      }
      if (ec) return make_error("replay: cannot read folder '{}': {}", p, ec.message());
      std::sort(found.begin(), found.end(),
                [](const auto& a, const auto& b) { return a.second < b.second; });
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(root, ec)) {
      files.emplace_back(p, utf8(root.filename()));
    } else {
      return make_error("replay: '{}' is neither an EVTX file nor a folder", p);
    }
  }
  return std::unique_ptr<EventLogSource>(new ReplaySource(std::move(files), bookmarks));
}

}  // namespace mimamori::host
