// The registration self-check and the service catalogue (JSON, or CSV for Excel).

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "mimamori/server/selfcheck.h"

namespace mimamori::server {

void h_self_check(Call& call) {
  auto r =
      registration_self_check(*call.store, call.principal, call.api->options(), core::now().micros);
  if (!r.ok()) return call.error(r.error());
  call.json(200, self_check_json(*r));
}

void h_service_catalogue(Call& call) {
  std::string format = call.req.query_param("format");
  if (format.empty()) format = "json";
  if (format != "json" && format != "csv") {
    return call.error(400, fmt::format("format '{}' is neither json nor csv", format));
  }
  auto rows = service_catalogue(*call.store, call.principal, call.api->options());
  if (!rows.ok()) return call.error(rows.error());
  if (format == "json") {
    return call.json(200, catalogue_json(*rows, call.api->options().registered_services));
  }
  HttpResponse r;
  r.body = catalogue_csv(*rows);
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"mimamori-service-catalogue.csv\"");
  r.headers.emplace_back("Cache-Control", "no-store");
  call.api->record(call, 200);
  call.respond(std::move(r));
}

}  // namespace mimamori::server
