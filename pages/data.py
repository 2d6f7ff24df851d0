"""Data: bring your own export — preview, mapping and validation report first, then an explicit commit."""

import os
import tempfile
from pathlib import Path

import streamlit as st

from analytics.errors import ShopLensError
from analytics.importing import (
    PRESETS,
    get_preset,
    import_files,
    import_history,
    list_rejects,
)
from analytics.importing.preview import mapping_frame, preview_file
from analytics.settings import CURRENCY_ENV, Settings, load_settings, save_settings
from dashboard import access, common


def _validate(path: Path, preset_name: str, target: Path, strict: bool, pseudonymize: bool) -> None:
    # Button callbacks run before the rerun, so the outcome survives any rerun the page triggers.
    try:
        report = import_files([path], get_preset(preset_name), target, strict=strict,
                              pseudonymize=pseudonymize, dry_run=True)
    except ShopLensError as error:
        st.session_state.pop("data_report", None)
        st.session_state["data_problem"] = str(error)
    else:
        st.session_state["data_report"] = ((str(path), preset_name, strict, pseudonymize), report)


def _save_currency(target: Path) -> None:
    try:
        saved = save_settings(target, Settings(currency=st.session_state.get("data_currency", "")))
    except ShopLensError as error:
        st.session_state["data_settings_problem"] = str(error)
    else:
        st.session_state["data_settings_saved"] = f"Money is now shown as {saved.currency or 'plain numbers'}."


def _commit(path: Path, preset_name: str, target: Path, strict: bool, pseudonymize: bool) -> None:
    try:
        done = import_files([path], get_preset(preset_name), target, strict=strict, pseudonymize=pseudonymize)
    except ShopLensError as error:
        st.session_state["data_problem"] = str(error)
        return
    st.session_state.pop("data_report", None)
    replaced = " The sample was replaced." if done.replaced_sample else ""
    st.session_state["data_committed"] = (
        f"Imported {done.rows_loaded:,} rows ({done.rows_rejected:,} rejected) as import {done.import_id}.{replaced}"
    )


access.require("import_data")
warehouse = common.open_warehouse()
common.page_header("Data", warehouse.info)

if message := st.session_state.pop("data_committed", None):
    st.success(message, icon=":material/check_circle:")

if warehouse.info.is_sample:
    st.info("The warehouse holds the generated sample. Importing replaces it: a warehouse never mixes "
            "sample and imported data.", icon=":material/science:")

st.subheader("Import a file", anchor=False)
source = st.radio("Source", ["Path on this machine", "Upload"], horizontal=True, key="data_source")
path: Path | None = None
if source == "Upload":
    upload = st.file_uploader("Export file", type=["csv", "tsv", "gz", "parquet", "jsonl", "json", "txt"],
                              key="data_upload")
    if upload is not None:
        # Keep the upload's name: the format is read from its extension.
        if "data_upload_folder" not in st.session_state:
            st.session_state["data_upload_folder"] = tempfile.mkdtemp(prefix="shoplens-upload-")
        folder = Path(st.session_state["data_upload_folder"])
        path = folder / Path(upload.name).name
        path.write_bytes(upload.getvalue())
else:
    typed = st.text_input("File path", key="data_path", placeholder="/data/exports/UserBehavior.csv.gz")
    if typed.strip():
        path = Path(typed.strip()).expanduser()

preset_name = st.selectbox("Preset", list(PRESETS), key="data_preset",
                           help="The export's format; each maps the file onto ShopLens's canonical tables.")
preset = get_preset(preset_name)
st.caption(preset.description)

if path is None:
    common.empty_state("Choose an export file to see its first rows, how its columns map, and what would be "
                       "rejected — nothing is imported until you commit.", title="No file chosen",
                       icon=":material/upload_file:")
else:
    try:
        preview = preview_file(path, preset)
    except ShopLensError as error:
        st.error(str(error), icon=":material/error:")
        preview = None
    if preview is not None:
        st.markdown(f"**First rows** · read as `{preview.layout.name}`"
                    f"{'' if preview.has_header else ' (no header; columns named by the preset)'}")
        st.dataframe(preview.rows, hide_index=True, key="data_preview")
        st.markdown("**Column mapping**")
        st.dataframe(mapping_frame(preview.layout), hide_index=True, key="data_mapping")
        strict = st.checkbox("Strict: refuse the whole file if any row would be rejected", key="data_strict")
        pseudonymize = st.checkbox("Pseudonymize user ids (keyed hash; the key stays outside the warehouse)",
                                   key="data_pseudonymize")
        request = (str(path), preset_name, strict, pseudonymize)
        st.button("Validate", icon=":material/rule:", key="data_validate", on_click=_validate,
                  args=(path, preset_name, warehouse.info.path, strict, pseudonymize))
        if problem := st.session_state.pop("data_problem", None):
            st.error(problem, icon=":material/error:")
        checked = st.session_state.get("data_report")
        if checked is not None and checked[0] == request:
            report = checked[1]
            st.markdown("**Validation report**")
            for file in report.files:
                st.markdown(
                    f"`{file.path.name}`: {file.rows_read:,} rows read · **{file.rows_loaded:,} new** · "
                    f"{file.rows_already_loaded:,} already loaded · {file.rows_ignored:,} skipped · "
                    f"{file.rows_rejected:,} rejected"
                )
            if report.rules:
                st.dataframe(report.rules_frame(), hide_index=True, key="data_rules")
            else:
                st.caption("Every row passed every rule.")
            st.markdown("**First rows as they would be loaded**")
            st.dataframe(report.preview, hide_index=True, key="data_canonical")
            st.button("Commit import", type="primary", icon=":material/save:", key="data_commit", on_click=_commit,
                      args=(path, preset_name, warehouse.info.path, strict, pseudonymize))

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

st.subheader("Settings", anchor=False)
settings = load_settings(warehouse.info.path)
with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
    st.text_input("Currency symbol", value=settings.currency, key="data_currency", max_chars=4, width=160,
                  placeholder="none", help="Shown before money on every page, e.g. ¥, $, € or CHF; empty for none.",
                  disabled=bool(os.environ.get(CURRENCY_ENV, "").strip()))
    st.button("Save", key="data_save_settings", icon=":material/save:", on_click=_save_currency,
              args=(warehouse.info.path,))
if os.environ.get(CURRENCY_ENV, "").strip():
    st.caption(f"Fixed by the server's ${CURRENCY_ENV}.")
if problem := st.session_state.pop("data_settings_problem", None):
    st.error(common.plain(problem), icon=":material/error:")
if saved := st.session_state.pop("data_settings_saved", None):
    st.success(common.plain(saved), icon=":material/check_circle:")
