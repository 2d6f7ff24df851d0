"""Data: bring your own export — upload, preview, a validation report, then an explicit commit; undo, history, settings.

Only admins reach this page (`import_data`). Files come as uploads, or from the one import folder the
server is configured with; validation and commit run in a worker process with a memory limit, one per
person, and can be cancelled. Every commit keeps the warehouse it replaced, so it can be undone.
"""

import os

import streamlit as st

from analytics.errors import ShopLensError
from analytics.importing import (
    PRESETS,
    cancel,
    cleanup,
    discard_upload,
    get_preset,
    import_history,
    list_rejects,
    poll,
    resolve_import_path,
    save_upload,
    start_import,
    start_validation,
)
from analytics.importing.paths import IMPORT_FOLDER_ENV, import_folder
from analytics.importing.preview import mapping_frame, preview_file
from analytics.settings import CURRENCY_ENV, Settings, load_settings, save_settings
from analytics.models.scheduling import schedule_training
from analytics.warehouse import restore_warehouse
from analytics.warehouse_files import list_versions
from dashboard import access, common

JOB = "data_job"            # the running or finished worker job: (request, ImportJob)
UPLOAD = "data_upload_file"  # (the upload's id, the path it was saved to)
MESSAGE = "data_message"     # (kind, text) shown once after a callback


def _request() -> tuple:
    return (str(st.session_state.get("data_path_chosen")), st.session_state.get("data_preset"),
            bool(st.session_state.get("data_strict")), bool(st.session_state.get("data_pseudonymize")),
            (st.session_state.get("data_time_zone") or "").strip() or None)


def _start(kind: str, user: str, target) -> None:
    # Callbacks run before the rerun, so the job survives any rerun the page triggers.
    path, preset_name, strict, pseudonymize, time_zone = request = _request()
    starter = start_validation if kind == "validate" else start_import
    try:
        job = starter(path, preset_name, user, warehouse=target, strict=strict, pseudonymize=pseudonymize,
                      time_zone=time_zone, origin=f"upload by {user}")
    except ShopLensError as error:
        st.session_state[MESSAGE] = ("error", str(error))
        return
    st.session_state[JOB] = (request, job)


def _cancel() -> None:
    if (running := st.session_state.get(JOB)) is not None:
        cancel(running[1])
        cleanup(running[1])
        st.session_state.pop(JOB, None)
        st.session_state[MESSAGE] = ("info", "Cancelled; nothing was changed.")


def _restore(target, version_id: str, user: str) -> None:
    try:
        report = restore_warehouse(target, version_id, user=user)
    except ShopLensError as error:
        st.session_state[MESSAGE] = ("error", str(error))
        return
    schedule_training(target)
    st.session_state.pop(JOB, None)
    st.session_state[MESSAGE] = ("success", f"Restored the warehouse kept at {report.restored.kept_at:%d %b %Y %H:%M} "
                                            "UTC; the one it replaced is kept too. Its models train again in the background.")


def _save_currency(target) -> None:
    try:
        saved = save_settings(target, Settings(currency=st.session_state.get("data_currency", "")))
    except ShopLensError as error:
        st.session_state[MESSAGE] = ("error", str(error))
    else:
        st.session_state[MESSAGE] = ("success", f"Money is now shown as {saved.currency or 'plain numbers'}.")


access.require("import_data")
warehouse = common.open_warehouse()
common.page_header("Data", warehouse.info)
user = common.signed_in_name() or "local"
target = warehouse.info.path

if message := st.session_state.pop(MESSAGE, None):
    kind, text = message
    {"error": st.error, "success": st.success, "info": st.info}[kind](common.plain(text))

if warehouse.info.is_sample:
    st.info("The warehouse holds the generated sample. Importing replaces it: a warehouse never mixes "
            "sample and imported data. The sample is kept and can be restored below.", icon=":material/science:")

# ----------------------------------------------------------------------------- choose a file
st.subheader("Import a file", anchor=False)
try:
    folder = import_folder()
except ShopLensError as error:
    folder = None
    st.caption(common.plain(str(error)))
sources = ["Upload"] + (["From the import folder"] if folder else [])
source = st.radio("Source", sources, horizontal=True, key="data_source",
                  help=None if folder else f"Files on the server can be read only from the folder the administrator "
                                           f"sets in {IMPORT_FOLDER_ENV}; none is set, so upload the file.")
path = None
if source == "Upload":
    upload = st.file_uploader("Export file", type=["csv", "tsv", "gz", "parquet", "jsonl", "json", "txt"],
                              key="data_upload")
    saved = st.session_state.get(UPLOAD)
    if upload is None and saved is not None:
        discard_upload(saved[1])
        st.session_state.pop(UPLOAD, None)
    elif upload is not None:
        if saved is None or saved[0] != upload.file_id:
            if saved is not None:
                discard_upload(saved[1])
            try:
                # Streamed to a private folder on disk; the worker reads it from there.
                st.session_state[UPLOAD] = (upload.file_id, save_upload(upload, upload.name))
            except ShopLensError as error:
                st.error(common.plain(str(error)), icon=":material/error:")
        if st.session_state.get(UPLOAD):
            path = st.session_state[UPLOAD][1]
else:
    typed = st.text_input("File in the import folder", key="data_path",
                          placeholder="exports/UserBehavior.csv.gz", help=f"A path inside {folder}.")
    if typed.strip():
        try:
            path = resolve_import_path(typed.strip())
        except ShopLensError as error:
            st.error(common.plain(str(error)), icon=":material/error:")
st.session_state["data_path_chosen"] = str(path) if path is not None else None

with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
    preset_name = st.selectbox("Preset", list(PRESETS), key="data_preset", width=260,
                               help="The export's format; each maps the file onto ShopLens's canonical tables.")
    st.text_input("Time zone of times without one", key="data_time_zone", placeholder="UTC", width=260,
                  help="E.g. Europe/London or Asia/Shanghai: times without an offset are read in it and stored as "
                       "UTC. Unix times and times with an offset ignore it.")
preset = get_preset(preset_name)
st.caption(common.plain(preset.description))
with st.container(horizontal=True, gap="medium"):
    strict = st.checkbox("Strict: refuse the whole file if any row would be rejected", key="data_strict")
    pseudonymize = st.checkbox("Pseudonymise user ids (a keyed hash; the key stays beside the warehouse)",
                               key="data_pseudonymize")

if path is None:
    common.empty_state("Choose an export file to see its first rows, how its columns map, and what would be "
                       "rejected — nothing is imported until you commit.", title="No file chosen",
                       icon=":material/upload_file:")
else:
    try:
        preview = preview_file(path, preset, hide_user_ids=pseudonymize)
    except ShopLensError as error:
        st.error(common.plain(str(error)), icon=":material/error:")
        preview = None
    if preview is not None:
        st.markdown(f"**First rows** · read as {common.plain(preview.layout.name)}"
                    f"{'' if preview.has_header else ' (no header; columns named by the preset)'}")
        st.dataframe(preview.rows, hide_index=True, key="data_preview")
        st.markdown("**Column mapping**")
        st.dataframe(mapping_frame(preview.layout), hide_index=True, key="data_mapping")
        running = st.session_state.get(JOB)
        st.button("Validate", icon=":material/rule:", key="data_validate", on_click=_start,
                  args=("validate", user, target), disabled=running is not None and running[0] == _request()
                  and poll(running[1]).state == "running")


# ----------------------------------------------------------------------------- the job
@st.fragment(run_every=1.0)
def job_status() -> None:
    """The running validation or import, polled every second; the page redraws itself when it ends."""
    running = st.session_state.get(JOB)
    if running is None:
        return
    request, job = running
    status = poll(job)
    noun = "Validation" if job.kind == "validate" else "Import"
    if status.state == "running":
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.info(f"{noun} running: {status.step}, {status.seconds:,.0f} s so far.", icon=":material/hourglass_top:")
            st.button("Cancel", key="data_cancel", icon=":material/stop:", on_click=_cancel)
        return
    if not st.session_state.get("data_job_shown") == job.job_id:
        st.session_state["data_job_shown"] = job.job_id
        st.rerun(scope="app")


job_status()
running = st.session_state.get(JOB)
if running is not None:
    request, job = running
    status = poll(job)
    if status.state in ("failed", "cancelled"):
        st.error(common.plain(status.message or f"The job {status.state}."), icon=":material/error:")
    elif status.state == "done" and status.report is not None:
        report = status.report
        if job.kind == "import":
            undo = (f" The warehouse it replaced is kept (version {report.kept_version.version_id}); "
                    "restore it below to undo." if report.kept_version is not None else "")
            st.success(common.plain(f"Imported {report.rows_loaded:,} rows ({report.rows_rejected:,} rejected) as "
                                    f"import {report.import_id}.{undo}"), icon=":material/check_circle:")
        else:
            st.markdown("**Validation report**")
            if report.replaces_data:
                st.warning("Committing REPLACES the data in this warehouse (the generated sample) instead of adding "
                           "to it. The warehouse it replaces is kept and can be restored.", icon=":material/warning:")
            for file in report.files:
                st.markdown(common.plain(
                    f"{file.path.name}: {file.rows_read:,} rows read · {file.rows_loaded:,} new · "
                    f"{file.rows_already_loaded:,} already loaded · {file.rows_ignored:,} skipped · "
                    f"{file.rows_rejected:,} rejected"))
            if report.rules:
                st.dataframe(report.rules_frame(), hide_index=True, key="data_rules")
            else:
                st.caption("Every row passed every rule.")
            st.markdown("**First rows as they would be loaded**")
            st.dataframe(report.preview, hide_index=True, key="data_canonical")
            if request == _request():
                st.button("Commit import", type="primary", icon=":material/save:", key="data_commit",
                          on_click=_start, args=("import", user, target))
            else:
                st.caption("The file or the options changed since this validation; validate again to commit.")

# ----------------------------------------------------------------------------- history and undo
st.subheader("Import history", anchor=False)
history = common.cached(import_history)
if history.empty:
    st.caption("No imports yet: this warehouse was built from canonical files or the sample.")
else:
    st.dataframe(history, hide_index=True, key="data_history")
    st.subheader("Rejected rows", anchor=False)
    rejects = common.cached(list_rejects, limit=500)
    if rejects.empty:
        st.caption("No row has been rejected.")
    else:
        st.dataframe(rejects, hide_index=True, key="data_rejects")

st.subheader("Earlier versions", anchor=False)
versions = [version for version in list_versions(target) if version.is_readable]
if not versions:
    st.caption("No earlier version is kept yet: every import or rebuild keeps the warehouse it replaces.")
else:
    labels = {version.version_id: (f"{version.kept_at:%d %b %Y %H:%M} UTC · "
                                   f"{'sample' if version.is_sample else version.source} · "
                                   f"{version.events or 0:,} events, {version.orders or 0:,} orders")
              for version in versions}
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        # Keyed by the newest version: after an import or a restore the choice starts again from the newest.
        chosen = st.selectbox("Restore the warehouse as it was", list(labels), format_func=labels.get,
                              key=f"data_version_{versions[0].version_id}", width=520)
        st.button("Restore", key="data_restore", icon=":material/history:", disabled=not access.allowed("restore"),
                  on_click=_restore, args=(target, chosen, user),
                  help="Puts this version back; the current warehouse is kept as a version too, so this can be undone.")

# ----------------------------------------------------------------------------- settings
st.subheader("Settings", anchor=False)
settings = load_settings(target)
fixed = bool(os.environ.get(CURRENCY_ENV, "").strip())
with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
    st.text_input("Currency symbol", value=settings.currency, key="data_currency", max_chars=4, width=160,
                  placeholder="none", disabled=fixed,
                  help="Shown before money on every page, e.g. ¥, $, € or CHF; empty for none.")
    st.button("Save", key="data_save_settings", icon=":material/save:", on_click=_save_currency, args=(target,),
              disabled=fixed)
if fixed:
    st.caption(f"Fixed by the server's ${CURRENCY_ENV}.")
