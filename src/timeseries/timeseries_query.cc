// Tag filters across series: the filter compiler (core/filter_compiler.h) over the tags JSON of
// ts_series, so the timeseries store accepts exactly the filters the document and blob stores do.
#include "core/filter_compiler.h"
#include "core/json.h"
#include "timeseries/timeseries_internal.h"

namespace dotdo {
namespace internal {

Result<std::vector<SeriesRow>> MatchSeries(Database& db, std::string_view key, const Json& where) {
  DOTDO_RETURN_IF_ERROR(ValidateSeriesKey(key));
  static const JsonColumnFields kTagFields({}, "tags");
  DOTDO_ASSIGN_OR_RETURN(CompiledFilter filter, CompileFilter(where, kTagFields));
  DOTDO_RETURN_IF_ERROR(TimeSeriesState::Of(db).status());
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.PrepareUncached("SELECT id, tags FROM ts_series WHERE key = ?1 AND (" + filter.sql +
                                                       ") ORDER BY tags" + LimitClause(kMaxSeriesPerQuery + 1)));
  st.Bind(1, key);
  for (size_t i = 0; i < filter.params.size(); ++i) st.Bind(static_cast<int>(i) + 2, filter.params[i]);
  std::vector<SeriesRow> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (out.size() == kMaxSeriesPerQuery)
      return ResourceExhaustedError("the filter matches more than " + std::to_string(kMaxSeriesPerQuery) + " series; narrow it");
    SeriesRow r{st.ColumnInt64(0), {std::string(key), {}}};
    DOTDO_ASSIGN_OR_RETURN(Json tags, ParseJson(st.ColumnText(1), "stored series tags"));
    if (!tags.is_object()) return DataLossError("stored series tags are not a JSON object");
    for (auto& [k, v] : tags.items()) {
      if (!v.is_string()) return DataLossError("stored series tag '" + k + "' is not a string");
      r.info.tags.emplace(k, v.get<std::string>());
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace internal

Result<std::vector<TimeSeriesInfo>> TimeSeriesStore::ListSeries(std::string_view key, const Json& where) {
  auto lock = internal::DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(auto rows, internal::MatchSeries(db_, key, where));
  std::vector<TimeSeriesInfo> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(std::move(r.info));
  return out;
}

}  // namespace dotdo
