// Keywords that say what a rule is: msg, sid, rev, gid, classtype, priority, reference,
// metadata, target, noalert.

#include "keyword_table.h"
#include "rule_text.h"

namespace mimamori::net::rules::keywords {

using core::make_error;

core::Status msg(SignatureDraft& d, const Option& o, const Keyword&) {
  auto m = unquote(o.value, "msg");
  if (!m) return m.error();
  d.sig.msg = std::move(*m);
  d.seen_msg = true;
  return {};
}

core::Status sid(SignatureDraft& d, const Option& o, const Keyword&) {
  if (!parse_int(o.value, d.sig.sid) || d.sig.sid == 0) return make_error("bad sid '{}'", o.value);
  d.seen_sid = true;
  return {};
}

core::Status rev(SignatureDraft& d, const Option& o, const Keyword&) {
  if (!parse_int(o.value, d.sig.rev)) return make_error("bad rev '{}'", o.value);
  return {};
}

core::Status gid(SignatureDraft& d, const Option& o, const Keyword&) {
  if (!parse_int(o.value, d.sig.gid)) return make_error("bad gid '{}'", o.value);
  return {};
}

core::Status classtype(SignatureDraft& d, const Option& o, const Keyword&) {
  d.sig.classtype = std::string(o.value);
  if (d.ctx.classtypes && !d.ctx.classtypes->empty()) {
    auto it = d.ctx.classtypes->find(o.value);
    if (it == d.ctx.classtypes->end()) {
      return make_error("unknown classtype '{}' (not in classification.config)", o.value);
    }
    d.sig.category = it->second.description;
    if (!d.has_priority) d.sig.priority = it->second.priority;
  }
  return {};
}

core::Status priority(SignatureDraft& d, const Option& o, const Keyword&) {
  if (!parse_int(o.value, d.sig.priority) || d.sig.priority < 1 || d.sig.priority > 255) {
    return make_error("bad priority '{}'", o.value);
  }
  d.has_priority = true;
  return {};
}

core::Status reference(SignatureDraft& d, const Option& o, const Keyword&) {
  d.sig.references.emplace_back(o.value);
  return {};
}

core::Status metadata(SignatureDraft& d, const Option& o, const Keyword&) {
  for (auto p : split(o.value, ',')) {
    if (p.empty()) continue;
    auto sp = p.find_first_of(" \t");
    if (sp == std::string_view::npos) {
      d.sig.metadata.emplace_back(std::string(p), std::string());
    } else {
      d.sig.metadata.emplace_back(std::string(p.substr(0, sp)), std::string(strip(p.substr(sp))));
    }
  }
  return {};
}

core::Status target(SignatureDraft& d, const Option& o, const Keyword&) {
  if (o.value != "src_ip" && o.value != "dest_ip") {
    return make_error("target must be src_ip or dest_ip, got '{}'", o.value);
  }
  d.sig.target = std::string(o.value);
  return {};
}

core::Status noalert(SignatureDraft& d, const Option&, const Keyword&) {
  d.sig.noalert = true;
  return {};
}

}  // namespace mimamori::net::rules::keywords
