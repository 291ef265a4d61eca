#pragma once
// IPA's list of registered サイバーセキュリティお助け隊サービス (reference data): shipped as
// share/mimamori/registered_services.tsv, read at start with the provider's own additions, shown
// in the catalogue beside the provider's plans. A malformed line is skipped and reported as
// "file:line: why"; the rest of the list still loads.

#include <string>
#include <string_view>
#include <vector>

namespace mimamori::server {

/// One registered service: its name, provider, region and type (ネットワーク一括監視型,
/// 端末監視型 or 併用型); `source` is "ipa" for the shipped list, "provider" for additions.
struct RegisteredService {
  std::string service, provider, region, type, source;
};

/// Parses the tab-separated list `text` read from `file` (four fields a line; # comments and
/// blank lines skipped), appending the services to `out` and a "file:line: why" to `problems`
/// for each line skipped.
void parse_registered_services(std::string_view text, std::string_view file,
                               std::string_view source, std::vector<RegisteredService>& out,
                               std::vector<std::string>& problems);

/// The shipped list's path beside the program (<prefix>/share/mimamori/registered_services.tsv,
/// in the build tree or installed); empty when there is none.
std::string default_registered_services_file();

}  // namespace mimamori::server
