/**
 * Results as JSON: one mapper ({@link io.refrag.core.report.ResultJson}) that every front end uses, the CLI, servers and
 * integrations, so that a field has one name everywhere. The top of the package graph: nothing in the library imports it.
 */
package io.refrag.core.report;
