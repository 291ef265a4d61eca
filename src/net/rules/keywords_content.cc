// Content and its modifiers, pcre, and the buffer keywords: content modifiers act on the last
// content of the rule, sticky buffers select the list later checks go to, legacy http_*
// modifiers move the content just before them.

#include "keyword_table.h"
#include "rule_text.h"

namespace mimamori::net::rules::keywords {

using core::make_error;

core::Status content(SignatureDraft& d, const Option& o, const Keyword&) {
  Content c;
  auto bytes = parse_content_bytes(o.value, c.negated);
  if (!bytes) return bytes.error();
  c.bytes = std::move(*bytes);
  auto& l = d.current_list();
  l.items.push_back(std::move(c));
  d.last_list = static_cast<int>(l.buffer);
  d.last_item = l.items.size() - 1;
  d.last_match_list = d.last_list;
  return {};
}

core::Status nocase(SignatureDraft& d, const Option&, const Keyword&) {
  d.last_content()->nocase = true;
  return {};
}

core::Status rawbytes(SignatureDraft& d, const Option&, const Keyword&) {
  d.last_content()->rawbytes = true;
  return {};
}

core::Status startswith(SignatureDraft& d, const Option&, const Keyword&) {
  Content* c = d.last_content();
  if (c->has_depth || c->has_offset || c->relative()) {
    return make_error("'startswith' cannot be mixed with depth/offset/distance/within");
  }
  c->startswith = true;
  return {};
}

core::Status endswith(SignatureDraft& d, const Option&, const Keyword&) {
  d.last_content()->endswith = true;
  return {};
}

core::Status fast_pattern(SignatureDraft& d, const Option& o, const Keyword&) {
  Content* c = d.last_content();
  if (o.has_value) {
    if (o.value == "only") {
      c->fast_pattern_only = true;
    } else {
      auto parts = split(o.value, ',');
      if (parts.size() != 2 || !parse_int(parts[0], c->fp_offset) ||
          !parse_int(parts[1], c->fp_length)) {
        return make_error("bad fast_pattern value '{}'", o.value);
      }
      if (size_t(c->fp_offset) + c->fp_length > c->bytes.size() || c->fp_length == 0) {
        return make_error("fast_pattern:{} lies outside the content", o.value);
      }
    }
  }
  c->fast_pattern = true;
  return {};
}

// depth, offset, distance, within: a number or a byte_extract variable.
core::Status position(SignatureDraft& d, const Option& o, const Keyword&) {
  Content* c = d.last_content();
  auto n = o.name;
  int32_t v = 0;
  if (!o.has_value) return make_error("'{}' needs a value", n);
  auto var = d.var_or_int(o.value, v, n);
  if (!var) return var.error();
  if (c->startswith) return make_error("'{}' cannot be mixed with startswith", n);
  if (n == "depth") {
    if (*var < 0 && v <= 0) return make_error("depth must be positive, got {}", v);
    c->has_depth = true, c->depth = v, c->depth_var = *var;
  } else if (n == "offset") {
    if (*var < 0 && v < 0) return make_error("offset must not be negative, got {}", v);
    c->has_offset = true, c->offset = v, c->offset_var = *var;
  } else if (n == "distance") {
    c->has_distance = true, c->distance = v, c->distance_var = *var;
  } else if (n == "within") {
    if (*var < 0 && v <= 0) return make_error("within must be positive, got {}", v);
    if (*var < 0 && static_cast<size_t>(v) < c->bytes.size()) {
      return make_error("within:{} is shorter than the content ({} bytes)", v, c->bytes.size());
    }
    c->has_within = true, c->within = v, c->within_var = *var;
  }
  if ((c->has_depth || c->has_offset) && c->relative()) {
    return make_error("depth/offset and distance/within on the same content conflict");
  }
  return {};
}

core::Status pcre(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  Pcre p;
  value = strip(value);
  if (!value.empty() && value.front() == '!') {
    p.negated = true;
    value = strip(value.substr(1));
  }
  // Suricata also accepts the pattern without quotes (pcre:/x/U;).
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  if (value.empty() || value.front() != '/') return make_error("pcre must start with '/'");
  auto last = value.rfind('/');
  if (last == 0) return make_error("pcre lacks its closing '/'");
  std::string pattern(value.substr(1, last - 1));
  std::string_view flags = value.substr(last + 1);
  if (flags.find(',') != std::string_view::npos) {
    return make_error("unsupported pcre capture into variables ('{}')", strip(flags));
  }
  match::RegexOptions ro;
  std::optional<BufferId> buf;
  for (char f : flags) {
    switch (f) {
      case 'i':
        ro.caseless = true;
        break;
      case 's':
        ro.dotall = true;
        break;
      case 'm':
        ro.multiline = true;
        break;
      case 'x':
        ro.extended = true;
        break;
      case 'A':
        ro.anchored = true;
        break;
      case 'E':
        ro.dollar_endonly = true;
        break;
      case 'G':
        ro.ungreedy = true;
        break;
      case 'R':
        p.relative = true;
        break;
      case 'O':
        break;  // match limits: PCRE2's defaults apply
      case 'B':
        p.rawbytes = true;
        break;
      case 'U':
        buf = BufferId::kHttpUri;
        break;
      case 'I':
        buf = BufferId::kHttpUriRaw;
        break;
      case 'P':
        buf = BufferId::kHttpRequestBody;
        break;
      case 'Q':
        buf = BufferId::kHttpResponseBody;
        break;
      case 'H':
        buf = BufferId::kHttpHeader;
        break;
      case 'D':
        buf = BufferId::kHttpHeaderRaw;
        break;
      case 'M':
        buf = BufferId::kHttpMethod;
        break;
      case 'C':
        buf = BufferId::kHttpCookie;
        break;
      case 'S':
        buf = BufferId::kHttpStatCode;
        break;
      case 'Y':
        buf = BufferId::kHttpStatMsg;
        break;
      case 'V':
        buf = BufferId::kHttpUserAgent;
        break;
      case 'W':
        buf = BufferId::kHttpHost;
        break;
      case 'Z':
        buf = BufferId::kHttpHostRaw;
        break;
      default:
        return make_error("unknown pcre flag '{}'", f);
    }
  }
  // Rule sets repeat many patterns (ET Open: 4.6 k pcre options, 1.7 k distinct); a JIT
  // compile is the dearest step of loading, so equal patterns share one Regex.
  static_assert(sizeof(match::RegexOptions) == 8, "the memo key lists every option");
  std::string key;
  if (d.ctx.regex_memo) {
    key = fmt::format("{:d}{:d}{:d}{:d}{:d}{:d}{:d}{:d}/{}", ro.caseless, ro.multiline, ro.dotall,
                      ro.extended, ro.anchored, ro.dollar_endonly, ro.ungreedy, ro.utf, pattern);
    if (auto it = d.ctx.regex_memo->find(key); it != d.ctx.regex_memo->end()) p.regex = it->second;
  }
  if (!p.regex) {
    auto re = match::Regex::compile(pattern, ro);
    if (!re) return make_error("pcre does not compile: {}", re.error().message);
    p.regex = std::make_shared<const match::Regex>(std::move(*re));
    if (d.ctx.regex_memo) d.ctx.regex_memo->emplace(std::move(key), p.regex);
  }
  p.text = std::string(value);
  auto& l = buf ? d.list(*buf) : (p.relative ? d.relative_list() : d.current_list());
  l.items.push_back(std::move(p));
  d.last_match_list = static_cast<int>(l.buffer);
  return {};
}

core::Status select_buffer(SignatureDraft& d, const Option&, const Keyword& k) {
  d.current = k.buffer;
  d.sticky_set = true;
  d.list(d.current);
  return {};
}

core::Status move_content(SignatureDraft& d, const Option& o, const Keyword& k) {
  auto n = o.name;
  Content* c = d.last_content();
  auto from = static_cast<BufferId>(d.last_list);
  if (from != BufferId::kPayload) {
    return make_error("'{}' after a content already in {}", n, buffer_name(from));
  }
  Content moved = std::move(*c);
  auto& src = d.list(from);
  src.items.erase(src.items.begin() + static_cast<std::ptrdiff_t>(d.last_item));
  auto& dst = d.list(k.buffer);
  dst.items.push_back(std::move(moved));
  d.last_list = static_cast<int>(k.buffer);
  d.last_item = dst.items.size() - 1;
  d.last_match_list = d.last_list;
  return {};
}

core::Status urilen(SignatureDraft& d, const Option& o, const Keyword&) {
  auto parts = split(o.value, ',');
  auto r = parse_range(parts[0], "urilen");
  if (!r) return r.error();
  BufferId b = BufferId::kHttpUri;
  if (parts.size() > 1) {
    if (parts[1] == "raw")
      b = BufferId::kHttpUriRaw;
    else if (parts[1] != "norm")
      return make_error("urilen: unknown option '{}'", parts[1]);
  }
  d.list(b).items.push_back(BufferSize{*r});
  return {};
}

core::Status bsize(SignatureDraft& d, const Option& o, const Keyword&) {
  auto r = parse_range(o.value, "bsize");
  if (!r) return r.error();
  if (d.current == BufferId::kPayload) return make_error("bsize needs a sticky buffer before it");
  d.current_list().items.push_back(BufferSize{*r});
  return {};
}

core::Status dotprefix(SignatureDraft& d, const Option&, const Keyword&) {
  if (d.current == BufferId::kPayload)
    return make_error("dotprefix needs a sticky buffer before it");
  d.current_list().dotprefix = true;
  return {};
}

}  // namespace mimamori::net::rules::keywords
