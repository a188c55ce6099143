/*
 * compat_sqlite — an honest workload on a real library: SQLite (Debian's libsqlite3).
 * Opens an in-memory database, creates a table, inserts the rows 1..N (N = input in
 * decimal) in one transaction through a prepared statement, and answers a query over
 * them: "rows=N sum=S squares=Q". A sandbox must let a plugin use an embedded database.
 */
/* attack.h first: it sets the feature macros the system headers read. */
#include "attack.h"

#include <sqlite3.h>
#include <stdlib.h>

static sbx_status query(const atk_input *in, atk_out *out)
{
    long n = 1000;
    if (in->len > 0 && in->len < 16) {
        char text[16] = {0};
        memcpy(text, in->data, in->len);
        n = strtol(text, NULL, 10);
    }
    if (n <= 0 || n > 1000000) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        atk_printf(out, "open: %s", db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return SBX_ERR_INTERNAL;
    }
    sqlite3_stmt *insert = NULL;
    sqlite3_stmt *select = NULL;
    sbx_status status = SBX_ERR_INTERNAL;
    if (sqlite3_exec(db, "CREATE TABLE t (v INTEGER NOT NULL); BEGIN", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (?1)", -1, &insert, NULL) != SQLITE_OK) {
        atk_printf(out, "schema: %s", sqlite3_errmsg(db));
        goto done;
    }
    for (long v = 1; v <= n; v++) {
        sqlite3_bind_int64(insert, 1, v);
        if (sqlite3_step(insert) != SQLITE_DONE) {
            atk_printf(out, "insert: %s", sqlite3_errmsg(db));
            goto done;
        }
        sqlite3_reset(insert);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT count(*), sum(v), sum(v * v) FROM t", -1, &select, NULL) !=
            SQLITE_OK ||
        sqlite3_step(select) != SQLITE_ROW) {
        atk_printf(out, "query: %s", sqlite3_errmsg(db));
        goto done;
    }
    atk_printf(out, "rows=%lld sum=%lld squares=%lld", (long long)sqlite3_column_int64(select, 0),
               (long long)sqlite3_column_int64(select, 1),
               (long long)sqlite3_column_int64(select, 2));
    status = SBX_OK;
done:
    sqlite3_finalize(insert);
    sqlite3_finalize(select);
    sqlite3_close(db);
    return status;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("query", query)
ATK_DEFAULT_SHUTDOWN()
