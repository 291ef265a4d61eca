#pragma once
// The rule keywords: one row per keyword in keyword_table.cc (name, handler, the buffer it
// selects or moves a content into, flags), as Snort 3 lists its ips_options and Suricata's
// detect-engine-register.c its keywords. Handlers live in keywords_*.cc by kind; parser.cc
// tokenizes a rule and calls them in option order. Private to net/rules.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "mimamori/core/result.h"
#include "mimamori/net/rules/buffers.h"
#include "mimamori/net/rules/loader.h"
#include "mimamori/net/rules/signature.h"

namespace mimamori::net::rules {

/// One `name:value;` (or `name;`) of a rule's option block.
struct Option {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

/// A signature being built from its options, and the parse-time state keyword handlers share
/// (the list later checks go to, the last content): discarded once the rule is parsed.
struct SignatureDraft {
  SignatureDraft(const ParseContext& context, Signature& signature)
      : ctx(context), sig(signature) {}

  const ParseContext& ctx;
  Signature& sig;
  BufferId current = BufferId::kPayload;  ///< the buffer later checks go to
  int last_list = -1;                     ///< buffer of the last content, -1: none yet
  size_t last_item = 0;                   ///< index of the last content in that buffer
  int last_match_list = -1;  ///< buffer of the last content, pcre, byte_jump or byte_extract
  bool seen_sid = false;
  bool seen_msg = false;
  bool has_priority = false;
  bool sticky_set = false;             ///< a sticky buffer keyword was given
  std::map<std::string, int8_t> vars;  ///< byte_extract variables by name

  /// The checks of buffer `id`, added (empty) when the rule has none yet.
  BufferChecks& list(BufferId id);
  /// The checks of the current buffer.
  BufferChecks& current_list() { return list(current); }
  /// The rule's last content, or null.
  Content* last_content();
  /// The list a relative non-content check goes to: that of the last content/pcre.
  BufferChecks& relative_list();
  /// A number, or the index of a byte_extract variable (returned; -1 for a number).
  core::Result<int8_t> var_or_int(std::string_view v, int32_t& out, std::string_view what);
};

struct Keyword;

/// Parses one option into the draft. The error is the reason the rule is skipped.
using KeywordParse = core::Status (*)(SignatureDraft& draft, const Option& option,
                                      const Keyword& keyword);

/// What the parser checks before a keyword's handler runs, and what kind of keyword it is.
enum KeywordFlag : uint8_t {
  kNeedsValue = 1 << 0,       ///< "'x' needs a value" when the value is missing or empty
  kContentModifier = 1 << 1,  ///< changes the rule's last content (nocase, depth, ...)
  kNeedsContent = 1 << 2,     ///< "'x' needs a content before it" when there is none yet
  kStickyBuffer = 1 << 3,     ///< selects `buffer` for the checks after it; takes no value
  kLegacyModifier = 1 << 4,   ///< moves the last content into `buffer` (pre-5.0 http_*)
  kUnsupported = 1 << 5,      ///< known but not evaluated: the rule is skipped with
                              ///< "unsupported keyword 'x'"
};

/// One row of the keyword table.
struct Keyword {
  std::string_view name;
  KeywordParse parse = nullptr;          ///< null only for kUnsupported rows
  BufferId buffer = BufferId::kPayload;  ///< kStickyBuffer / kLegacyModifier: the buffer
  uint8_t flags = 0;
};

/// Every keyword, in the table's order.
std::span<const Keyword> keyword_table();

/// The row of keyword `name` (exact spelling), or null for a keyword nobody knows.
const Keyword* find_keyword(std::string_view name);

/// Keyword handlers, by the file that holds them.
namespace keywords {

// keywords_meta.cc: what the rule is (msg, sid, classtype, metadata, ...).
core::Status msg(SignatureDraft&, const Option&, const Keyword&);
core::Status sid(SignatureDraft&, const Option&, const Keyword&);
core::Status rev(SignatureDraft&, const Option&, const Keyword&);
core::Status gid(SignatureDraft&, const Option&, const Keyword&);
core::Status classtype(SignatureDraft&, const Option&, const Keyword&);
core::Status priority(SignatureDraft&, const Option&, const Keyword&);
core::Status reference(SignatureDraft&, const Option&, const Keyword&);
core::Status metadata(SignatureDraft&, const Option&, const Keyword&);
core::Status target(SignatureDraft&, const Option&, const Keyword&);
core::Status noalert(SignatureDraft&, const Option&, const Keyword&);

// keywords_content.cc: content and its modifiers, pcre, buffers.
core::Status content(SignatureDraft&, const Option&, const Keyword&);
core::Status nocase(SignatureDraft&, const Option&, const Keyword&);
core::Status rawbytes(SignatureDraft&, const Option&, const Keyword&);
core::Status startswith(SignatureDraft&, const Option&, const Keyword&);
core::Status endswith(SignatureDraft&, const Option&, const Keyword&);
core::Status fast_pattern(SignatureDraft&, const Option&, const Keyword&);
core::Status position(SignatureDraft&, const Option&, const Keyword&);  // depth, offset, ...
core::Status pcre(SignatureDraft&, const Option&, const Keyword&);
core::Status select_buffer(SignatureDraft&, const Option&, const Keyword&);
core::Status move_content(SignatureDraft&, const Option&, const Keyword&);
core::Status urilen(SignatureDraft&, const Option&, const Keyword&);
core::Status bsize(SignatureDraft&, const Option&, const Keyword&);
core::Status dotprefix(SignatureDraft&, const Option&, const Keyword&);

// keywords_bytes.cc: byte_test, byte_jump, byte_extract, isdataat.
core::Status byte_test(SignatureDraft&, const Option&, const Keyword&);
core::Status byte_jump(SignatureDraft&, const Option&, const Keyword&);
core::Status byte_extract(SignatureDraft&, const Option&, const Keyword&);
core::Status isdataat(SignatureDraft&, const Option&, const Keyword&);

// keywords_flow.cc: flow state, bits and counters, thresholds, tags, stream and app layer.
core::Status flow(SignatureDraft&, const Option&, const Keyword&);
core::Status flowbits(SignatureDraft&, const Option&, const Keyword&);
core::Status xbits(SignatureDraft&, const Option&, const Keyword&);
core::Status flowint(SignatureDraft&, const Option&, const Keyword&);
core::Status threshold(SignatureDraft&, const Option&, const Keyword&);  // and detection_filter
core::Status tag(SignatureDraft&, const Option&, const Keyword&);
core::Status stream_size(SignatureDraft&, const Option&, const Keyword&);
core::Status app_layer_protocol(SignatureDraft&, const Option&, const Keyword&);

// keywords_packet.cc: packet and header fields.
core::Status dsize(SignatureDraft&, const Option&, const Keyword&);
core::Status icmp_field(SignatureDraft&, const Option&, const Keyword&);  // itype, icode
core::Status flags(SignatureDraft&, const Option&, const Keyword&);
core::Status ip_proto(SignatureDraft&, const Option&, const Keyword&);
core::Status tls_version(SignatureDraft&, const Option&, const Keyword&);

}  // namespace keywords

}  // namespace mimamori::net::rules
