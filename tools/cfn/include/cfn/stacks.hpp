// Several templates evaluated as one account's stacks (replay and watch
// with --template given more than once): a team stack and job stacks that
// notify its topic.
#pragma once

#include <string>
#include <vector>

#include "cfn/template.hpp"

namespace fitwatch::cfn {

/// Reads and evaluates each file as one stack, then merges their alarms and
/// topics as one account's: an alarm whose action is another stack's topic
/// emails that topic's subscribers. With one file, `options` applies as
/// given. With several, each file is named by its stem as a stack
/// (overfitting-alerts, team, ...; made unique) and gets only the
/// parameters it declares; a parameter that no file declares is an error.
/// Alarm names and topic ARNs are unique in an account and Region: a second
/// declaration is an error naming both stacks.
/// \throw template_error whose message starts with the file's path.
alarms::template_model read_stacks(const std::vector<std::string>& paths,
                                   const template_options& options);

}  // namespace fitwatch::cfn
