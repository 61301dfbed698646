/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The model backend's own view of a context made by backend_model.setup(),
 * for tests that check the walker's per-domain counters behind the BackendOps
 * interface.
 */

#include "backends/model/model.h"

Model *model_backend_get_model(void *ctx);
