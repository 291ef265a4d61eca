// Backend selection: the store URL names the backend. The list is explicit: a new backend is
// one more branch here and one more folder beside sqlite/ and postgres/.

#include "mimamori/server/store.h"
#include "store/backend.h"

namespace mimamori::server {

Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  std::string_view url = options.url;
  Result<std::unique_ptr<StoreBackend>> backend = core::make_error("no store");
  if (url.starts_with("sqlite:")) {
    backend = open_sqlite_backend(options, url.substr(7));
  } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    backend = open_postgres_backend(options, url);
  } else {
    return core::make_error("store url '{}' is not understood: use sqlite:DIR or postgresql://…",
                            url);
  }
  if (!backend.ok()) return backend.error();
  return Store::open(options, std::move(*backend));
}

}  // namespace mimamori::server
