//! The workspace settings document: pipeline stages and reason catalogues.
//!
//! Every replica starts from the same *genesis* change (fixed actor, fixed
//! time, fixed content), so the genesis is byte-identical everywhere and
//! replicas that never met still share one history: later edits merge like
//! any other document instead of fighting over two unrelated roots.

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ReadDoc, ScalarValue};
use serde::{Deserialize, Serialize};

use crate::doc::access::{self, obj, obj_path};
use crate::doc::{Author, commit_options};
use crate::error::{Error, RecordKind, Result};
use crate::model::StageKind;

/// The id under which the settings document is stored and synced.
pub const SETTINGS_DOC_ID: &str = "settings";

/// A pipeline stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub id: String,
    pub name: String,
    /// Default probability (0–100) applied when a deal enters the stage.
    pub probability: u8,
    pub kind: StageKind,
    /// Position in the funnel, lowest first.
    pub order: u32,
    /// A deal with no stage change for longer than this is stale.
    pub stale_after_days: u32,
}

/// Workspace-wide settings, as merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Ordered by `order`, then id.
    pub stages: Vec<Stage>,
    pub lost_reasons: Vec<String>,
    pub end_reasons: Vec<String>,
    pub tags: Vec<String>,
}

impl Settings {
    pub fn stage(&self, id: &str) -> Result<&Stage> {
        self.stages.iter().find(|s| s.id == id).ok_or_else(|| Error::not_found(RecordKind::Stage, id))
    }

    /// The first open stage of the funnel, where new deals start by default.
    pub fn first_open_stage(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.kind == StageKind::Open)
    }
}

impl Default for Settings {
    fn default() -> Self {
        let stage = |id: &str, name: &str, p: u8, kind, order, stale| Stage {
            id: id.into(),
            name: name.into(),
            probability: p,
            kind,
            order,
            stale_after_days: stale,
        };
        Settings {
            stages: vec![
                stage("prospecting", "Prospecting", 10, StageKind::Open, 1, 30),
                stage("qualification", "Qualification", 20, StageKind::Open, 2, 30),
                stage("proposal", "Proposal", 50, StageKind::Open, 3, 21),
                stage("negotiation", "Negotiation", 80, StageKind::Open, 4, 14),
                stage("won", "Won", 100, StageKind::Won, 5, 0),
                stage("lost", "Lost", 0, StageKind::Lost, 6, 0),
            ],
            lost_reasons: ["price", "competitor", "no_budget", "no_decision", "timing", "product_fit", "other"]
                .map(String::from)
                .to_vec(),
            end_reasons: ["moved_away", "closed_business", "switched_supplier", "dissatisfied", "merged", "other"]
                .map(String::from)
                .to_vec(),
            tags: Vec::new(),
        }
    }
}

/// The settings document.
#[derive(Debug, Clone)]
pub struct SettingsDoc {
    doc: AutoCommit,
}

impl SettingsDoc {
    /// The byte-identical genesis every replica starts from.
    pub fn genesis() -> SettingsDoc {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(&[0u8; 16][..]));
        let defaults = Settings::default();
        // Writing into a fresh document cannot fail.
        let _ = write_settings(&mut doc, &defaults);
        doc.commit_with(CommitOptions::default().with_message("genesis").with_time(0));
        SettingsDoc { doc }
    }

    pub fn from_automerge(doc: AutoCommit) -> SettingsDoc {
        SettingsDoc { doc }
    }

    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn read(&self) -> Settings {
        let d = &self.doc;
        let mut stages = Vec::new();
        if let Some(map) = obj_path(d, &["stages"]) {
            for id in d.keys(&map).collect::<Vec<_>>() {
                let Some(s) = obj(d, &map, &id) else { continue };
                let Some(kind) = access::parsed::<StageKind>(d, &s, "kind") else { continue };
                stages.push(Stage {
                    name: access::string(d, &s, "name").unwrap_or_else(|| id.clone()),
                    probability: access::int(d, &s, "probability").unwrap_or(0).clamp(0, 100) as u8,
                    kind,
                    order: access::int(d, &s, "order").unwrap_or(0).max(0) as u32,
                    stale_after_days: access::int(d, &s, "stale_after_days").unwrap_or(0).max(0) as u32,
                    id,
                });
            }
        }
        stages.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
        let list = |key: &str| access::keys(d, obj_path(d, &[key]).as_ref());
        Settings { stages, lost_reasons: list("lost_reasons"), end_reasons: list("end_reasons"), tags: list("tags") }
    }

    /// Adds or replaces a pipeline stage.
    pub fn put_stage(&mut self, author: &Author, stage: &Stage) -> Result<()> {
        validate_stage(stage)?;
        self.doc.set_actor(author.actor.clone());
        let result = (|| {
            let stages = obj_path(&self.doc, &["stages"])
                .ok_or_else(|| Error::InvalidDocument("settings document has no stages".into()))?;
            let s = match obj(&self.doc, &stages, &stage.id) {
                Some(s) => s,
                None => access::put_map(&mut self.doc, &stages, &stage.id)?,
            };
            write_stage_fields(&mut self.doc, &s, stage)
        })();
        self.finish(author, "settings.put_stage", result)
    }

    /// Adds a reason to the lost-reason (`lost_reasons`) or end-reason (`end_reasons`) catalogue.
    pub fn add_reason(&mut self, author: &Author, catalogue: ReasonCatalogue, reason: &str) -> Result<()> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid(catalogue.key(), "reason must not be empty"));
        }
        self.doc.set_actor(author.actor.clone());
        let result = (|| {
            let map = obj_path(&self.doc, &[catalogue.key()])
                .ok_or_else(|| Error::InvalidDocument("settings document has no catalogue".into()))?;
            self.doc.put(&map, reason, true)?;
            Ok(())
        })();
        self.finish(author, "settings.add_reason", result)
    }

    /// Takes a reason out of its catalogue: it is no longer offered, and
    /// the records that name it keep it (reports show it as it is). Reasons
    /// added on other devices meanwhile are kept (each key merges on its
    /// own). A reason the catalogue does not hold is refused and nothing
    /// changes.
    pub fn remove_reason(&mut self, author: &Author, catalogue: ReasonCatalogue, reason: &str) -> Result<()> {
        let reason = reason.trim();
        self.doc.set_actor(author.actor.clone());
        let result = (|| {
            let map = obj_path(&self.doc, &[catalogue.key()])
                .ok_or_else(|| Error::InvalidDocument("settings document has no catalogue".into()))?;
            if self.doc.get(&map, reason)?.is_none() {
                return Err(Error::not_found(RecordKind::Reason, reason));
            }
            self.doc.delete(&map, reason)?;
            Ok(())
        })();
        self.finish(author, "settings.remove_reason", result)
    }

    fn finish(&mut self, author: &Author, op: &str, result: Result<()>) -> Result<()> {
        match result {
            Ok(()) => {
                self.doc.commit_with(commit_options(author, op, time::OffsetDateTime::now_utc()));
                Ok(())
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }
}

/// Which reason catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonCatalogue {
    LostReasons,
    EndReasons,
}

impl ReasonCatalogue {
    fn key(self) -> &'static str {
        match self {
            ReasonCatalogue::LostReasons => "lost_reasons",
            ReasonCatalogue::EndReasons => "end_reasons",
        }
    }
}

fn validate_stage(stage: &Stage) -> Result<()> {
    if stage.id.trim().is_empty() || stage.id.contains('.') {
        return Err(Error::invalid("stage.id", "must be non-empty and contain no dots"));
    }
    if stage.name.trim().is_empty() {
        return Err(Error::invalid("stage.name", "must not be empty"));
    }
    if stage.probability > 100 {
        return Err(Error::invalid("stage.probability", "must be between 0 and 100"));
    }
    Ok(())
}

fn write_stage_fields(doc: &mut AutoCommit, s: &ObjId, stage: &Stage) -> Result<()> {
    doc.put(s, "name", stage.name.as_str())?;
    doc.put(s, "probability", ScalarValue::Uint(u64::from(stage.probability)))?;
    doc.put(s, "kind", stage.kind.as_str())?;
    doc.put(s, "order", ScalarValue::Uint(u64::from(stage.order)))?;
    doc.put(s, "stale_after_days", ScalarValue::Uint(u64::from(stage.stale_after_days)))?;
    Ok(())
}

fn write_settings(doc: &mut AutoCommit, settings: &Settings) -> Result<()> {
    let root = automerge::ROOT;
    doc.put(&root, "type", "settings")?;
    doc.put(&root, "schema", ScalarValue::Uint(crate::doc::SCHEMA_VERSION))?;
    let stages = access::put_map(doc, &root, "stages")?;
    for stage in &settings.stages {
        let s = access::put_map(doc, &stages, &stage.id)?;
        write_stage_fields(doc, &s, stage)?;
    }
    for (key, values) in
        [("lost_reasons", &settings.lost_reasons), ("end_reasons", &settings.end_reasons), ("tags", &settings.tags)]
    {
        let m = access::put_map(doc, &root, key)?;
        for v in values {
            doc.put(&m, v.as_str(), true)?;
        }
    }
    Ok(())
}

/// Stages keyed by id, for quick lookups in reports.
pub fn stages_by_id(settings: &Settings) -> BTreeMap<&str, &Stage> {
    settings.stages.iter().map(|s| (s.id.as_str(), s)).collect()
}
