// The monthly customer report as a PDF download. Rendering takes tens of milliseconds: it runs on
// the report pool, never on an HTTP thread.

#include "api/json_body.h"
#include "reports/reports.h"

namespace mimamori::server {

void h_monthly_report(Call& call) {
  auto month = parse_report_month(call.param("month"));
  if (!month.ok()) return call.error(month.error());
  auto keep = std::make_shared<Call>(std::move(call));
  bool queued = keep->api->report_pool().submit([keep, m = *month] {
    try {
      auto data = gather_monthly_report(*keep->store, keep->principal, keep->param("id"), m);
      if (!data.ok()) return keep->error(data.error());
      HttpResponse r;
      r.body = render_monthly_report(*data);
      r.content_type = "application/pdf";
      // The file name is ours (customer id and month), never the customer's text.
      r.headers.emplace_back("Content-Disposition",
                             fmt::format("attachment; filename=\"mimamori-report-{}-{}.pdf\"",
                                         data->customer_id, m.key()));
      r.headers.emplace_back("Cache-Control", "no-store");
      keep->api->record(*keep, 200);
      keep->respond(std::move(r));
    } catch (const std::exception& e) {
      keep->error(500, fmt::format("internal error: {}", e.what()));
    }
  });
  if (!queued) {
    keep->json(429, "{\"error\":\"the server is busy writing reports; try again shortly\"}",
               {{"Retry-After", "2"}});
  }
}

}  // namespace mimamori::server
