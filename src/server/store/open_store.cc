// Backend selection: the store URL names the backend. The list is explicit: a new backend is
// one more branch here and one more folder beside sqlite/ and postgres/.

#include "mimamori/server/store.h"
#include "store/backend.h"

namespace mimamori::server {

bool is_postgres_url(std::string_view url) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return true;
  // A connection string: its first word is keyword=value with a libpq keyword's letters.
  const size_t start = url.find_first_not_of(" \t");
  if (start == std::string_view::npos) return false;
  const size_t eq = url.find('=', start);
  if (eq == std::string_view::npos || eq == start) return false;
  for (size_t i = start; i < eq; ++i) {
    const char ch = url[i];
    if (!((ch >= 'a' && ch <= 'z') || ch == '_')) return false;
  }
  return true;
}

Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  std::string_view url = options.url;
  Result<std::unique_ptr<StoreBackend>> backend = core::make_error("no store");
  if (url.starts_with("sqlite:")) {
    backend = open_sqlite_backend(options, url.substr(7));
  } else if (is_postgres_url(url)) {
    backend = open_postgres_backend(options, url);
  } else {
    return core::make_error(
        "store url '{}' is not understood: use sqlite:DIR, postgresql://… or a libpq connection "
        "string (host=… dbname=…)",
        url);
  }
  if (!backend.ok()) return backend.error();
  return Store::open(options, std::move(*backend));
}

}  // namespace mimamori::server
