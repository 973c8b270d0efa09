//! File-system events are hints, not truth. This turns one `notify` event into what to do:
//! look again at some paths, or rescan everything. Kept pure so that the macOS event sequences
//! (which cannot be produced on Linux) are tested as values.
//!
//! What the platforms do (from notify's sources and issues, and measured on Linux/inotify):
//! - a report written in place: Create, Modify(Data), Close(Write);
//! - written to a temporary name and renamed: inotify pairs Name(From)/Name(To)/Name(Both);
//!   FSEvents reports Modify(Name(Any)) for both the old and the new path, unpaired;
//! - moved in from elsewhere: only Modify(Name(To)) (no Create);
//! - a new subfolder: files created in it right away can be missed before the watch is added;
//! - an overflowing queue (inotify Q_OVERFLOW, FSEvents MUST_SCAN_SUBDIRS): `need_rescan()`.

use std::path::PathBuf;

use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, MetadataKind, ModifyKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Look at these paths again (they may be new, grown, renamed into place, or gone).
    Check(Vec<PathBuf>),
    /// Walk this new folder: its files may have been created before it was watched.
    Walk(PathBuf),
    /// Events were lost: take the whole inventory again.
    Rescan,
    /// Look again at files waiting to be read (quiet, or the rest of them written): not a change
    /// of them, as an event is.
    Retry(Vec<PathBuf>),
    Ignore,
}

pub fn action(event: &notify::Event) -> Action {
    if event.need_rescan() {
        return Action::Rescan;
    }
    match event.kind {
        EventKind::Create(CreateKind::Folder) => match event.paths.first() {
            Some(p) => Action::Walk(p.clone()),
            None => Action::Rescan,
        },
        EventKind::Create(_)
        | EventKind::Modify(ModifyKind::Data(_))
        | EventKind::Modify(ModifyKind::Name(_))
        | EventKind::Modify(ModifyKind::Any)
        | EventKind::Modify(ModifyKind::Other)
        | EventKind::Access(AccessKind::Close(AccessMode::Write))
        // notify's PollWatcher (`--poll`, and the fallback) says a file grew only as a new
        // modification time: a change, which must keep the wait from being quiet.
        | EventKind::Modify(ModifyKind::Metadata(MetadataKind::WriteTime))
        | EventKind::Remove(_)
        | EventKind::Any
        | EventKind::Other => {
            if event.paths.is_empty() {
                Action::Rescan
            } else {
                Action::Check(event.paths.clone())
            }
        }
        // Other metadata changes (mode, owner) and reads say nothing about a report's contents;
        // they are no change for the quiet timer either (crashdelta's own reads make them).
        EventKind::Modify(ModifyKind::Metadata(_)) | EventKind::Access(_) => Action::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{DataChange, Flag, MetadataKind, RemoveKind, RenameMode};
    use notify::{Event, EventKind};

    fn ev(kind: EventKind, paths: &[&str]) -> Event {
        paths
            .iter()
            .fold(Event::new(kind), |e, p| e.add_path(PathBuf::from(p)))
    }

    #[test]
    fn linux_sequences() {
        assert_eq!(
            action(&ev(EventKind::Create(CreateKind::File), &["/r/a.ips"])),
            Action::Check(vec!["/r/a.ips".into()])
        );
        assert_eq!(
            action(&ev(
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                &["/r/a.ips"]
            )),
            Action::Check(vec!["/r/a.ips".into()])
        );
        // Renamed into place: the pair names both paths.
        assert_eq!(
            action(&ev(
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
                &["/r/.a.tmp", "/r/a.ips"]
            )),
            Action::Check(vec!["/r/.a.tmp".into(), "/r/a.ips".into()])
        );
        // Moved in from elsewhere: only the To half arrives.
        assert_eq!(
            action(&ev(
                EventKind::Modify(ModifyKind::Name(RenameMode::To)),
                &["/r/c.ips"]
            )),
            Action::Check(vec!["/r/c.ips".into()])
        );
        assert_eq!(
            action(&ev(EventKind::Create(CreateKind::Folder), &["/r/Retired"])),
            Action::Walk("/r/Retired".into())
        );
        assert_eq!(
            action(&ev(EventKind::Access(AccessKind::Read), &["/r/a.ips"])),
            Action::Ignore
        );
    }

    #[test]
    fn macos_fsevents_sequences() {
        // FSEvents: renames are Modify(Name(Any)) for both paths, unpaired, and one record with
        // coalesced flags becomes several events for the same path.
        for kind in [
            EventKind::Modify(ModifyKind::Name(RenameMode::Any)),
            EventKind::Create(CreateKind::Any),
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Modify(ModifyKind::Any),
        ] {
            assert_eq!(
                action(&ev(kind, &["/r/a.ips"])),
                Action::Check(vec!["/r/a.ips".into()])
            );
        }
        assert_eq!(
            action(&ev(EventKind::Remove(RemoveKind::File), &["/r/a.ips"])),
            Action::Check(vec!["/r/a.ips".into()])
        );
        assert_eq!(
            action(&ev(
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
                &["/r/a.ips"]
            )),
            Action::Ignore
        );
        // The poll watcher's only word for a file that grew (review finding: a report still
        // being written stopped holding `--poll`'s wait, and was recorded cut).
        assert_eq!(
            action(&ev(
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::WriteTime)),
                &["/r/a.crash"]
            )),
            Action::Check(vec!["/r/a.crash".into()])
        );
        // MUST_SCAN_SUBDIRS.
        assert_eq!(
            action(&Event::new(EventKind::Other).set_flag(Flag::Rescan)),
            Action::Rescan
        );
        assert_eq!(action(&Event::new(EventKind::Any)), Action::Rescan);
    }
}
