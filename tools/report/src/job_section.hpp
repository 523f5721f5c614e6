// One job's section of the report's page (job_section.cpp): the part of the
// page that grows with the run; page.cpp writes the document around it.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <vector>

#include "alarm_match.hpp"
#include "alarms/model.hpp"
#include "run_data.hpp"

namespace fitwatch::report::detail {

// Job `j`'s <section> (id "j<index>"): the transitions of `changes` that
// concern it (`contributors[i]`: change i's contributors by job).
void write_job_section(std::ostream& out, const alarms::template_model& model, const job& j,
                       std::size_t index, const std::vector<alarm_change>& changes,
                       const std::vector<contributor_items>& contributors);

}  // namespace fitwatch::report::detail
