//! `virtual-badge`: taps a virtual badge on a vpcd reader, for end-to-end
//! scripts. Needs pcscd running with vsmartcard-vpcd (scripts/services/pcscd.sh).
//!
//! ```text
//! virtual-badge tap <uid-hex> [--port 35963] [--hold-ms 1000] [--until-read] [--phone | --no-get-data]
//! virtual-badge insert <uid-hex> [--port 35963] [--stdin] [--phone | --no-get-data]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use tend_badge::virtual_card::{CardBehavior, VirtualCard, VPCD_PORT};
use tend_badge::BadgeUid;

const USAGE: &str = "usage:
  virtual-badge tap <uid-hex> [--port 35963] [--hold-ms 1000] [--until-read] [--phone | --no-get-data]
  virtual-badge insert <uid-hex> [--port 35963] [--stdin] [--phone | --no-get-data]

tap     inserts the card, holds it --hold-ms (or, with --until-read, until the
        UID was read, at most --hold-ms), then removes it.
insert  inserts the card and holds it until killed (the kernel closes the
        connection: removal), or with --stdin until standard input closes.
--phone answers GET DATA with 6A 81 (a phone); --no-get-data with 6D 00.
Port 35963 is reader 'Virtual PCD 00 00', 35964 is 'Virtual PCD 00 01'.";

struct Args {
    command: String,
    card: VirtualCard,
    hold: Duration,
    until_read: bool,
    stdin: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = args.next().ok_or("missing command")?;
    if command != "tap" && command != "insert" {
        return Err(format!("unknown command {command:?}"));
    }
    let uid_text = args.next().ok_or("missing <uid-hex>")?;
    let mut behavior = None;
    let mut port = VPCD_PORT;
    let mut hold = Duration::from_millis(1000);
    let mut until_read = false;
    let mut stdin = false;
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--port" => port = value("--port")?.parse().map_err(|_| "bad --port")?,
            "--hold-ms" => {
                hold =
                    Duration::from_millis(value("--hold-ms")?.parse().map_err(|_| "bad --hold-ms")?)
            }
            "--until-read" => until_read = true,
            "--stdin" => stdin = true,
            "--phone" => behavior = Some(CardBehavior::Phone),
            "--no-get-data" => behavior = Some(CardBehavior::NoGetData),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let behavior = match behavior {
        Some(behavior) => behavior,
        None => {
            // Validated like a real badge so scripts catch typos early.
            let uid = BadgeUid::parse(&uid_text).map_err(|e| e.to_string())?;
            let canonical = uid.expose_canonical();
            CardBehavior::Uid(
                (0..canonical.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&canonical[i..i + 2], 16).expect("validated hex"))
                    .collect(),
            )
        }
    };
    Ok(Args {
        command,
        card: VirtualCard::new(behavior).port(port),
        hold,
        until_read,
        stdin,
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("virtual-badge: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let card = match args.card.insert() {
        Ok(card) => card,
        Err(error) => {
            eprintln!("virtual-badge: cannot reach vpcd ({error}); is pcscd running with vsmartcard-vpcd?");
            return ExitCode::FAILURE;
        }
    };
    if args.command == "tap" {
        if args.until_read {
            card.wait_for_uid_read(args.hold);
        } else {
            std::thread::sleep(args.hold);
        }
    } else if args.stdin {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    } else {
        println!("virtual-badge: card inserted; kill this process to remove it");
        loop {
            std::thread::park();
        }
    }
    let reads = card.uid_reads();
    if let Err(error) = card.remove() {
        eprintln!("virtual-badge: {error}");
        return ExitCode::FAILURE;
    }
    println!("virtual-badge: card removed; UID read {reads} time(s)");
    if args.until_read && reads == 0 {
        eprintln!("virtual-badge: the UID was not read within the hold time");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
