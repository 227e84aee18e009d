"""``metalink-dgl predict``: fill in the unknown labels of a CSV of molecules with a checkpoint."""

from __future__ import annotations

import click

from metalink_dgl.device import DEVICES

from .options import field_option, list_option


@click.command("predict")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="best.pt or last.pt of a run.")
@click.option("--input", "input_csv", required=True, type=click.Path(dir_okay=False),
              help="CSV (.csv/.csv.gz): a SMILES column and any of the model's task columns (0/1 = known, "
              "empty = predict); other columns are passed through.")
@click.option("--output", "output_csv", required=True, type=click.Path(dir_okay=False),
              help="Output CSV: the input columns, then <task>_prob per predicted task (written atomically).")
@list_option("--tasks", default=None, help="Comma-separated tasks to predict [default: all the model can].")
@click.option("--support", type=click.Path(dir_okay=False), default=None,
              help="Meta-trained models: CSV of SMILES + 0/1/empty columns labelling examples of the new tasks "
              "to predict.")
@click.option("--shots", type=int, default=None,
              help="Each new task shows this many of its labelled --support molecules (seeded) [default: all].")
@click.option("--aux-ratio", type=float, default=None,
              help="Show the model only this random fraction of each molecule's known labels and predict the rest "
              "too, to check it on your own labels [default: show all].")
@click.option("--smiles-column", default=None, help="SMILES column of both files [default: smiles, any case].")
@click.option("--skip-invalid", is_flag=True,
              help="Keep going past SMILES RDKit cannot parse; mark their rows metalink_valid=0.")
@click.option("--batch-size", type=int, default=None, help="Molecules per minibatch [default: the checkpoint's].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --shots and --aux-ratio draws.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@field_option("workers", help="Processes that featurize the molecules.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(checkpoint, input_csv, output_csv, tasks, support, shots, aux_ratio, smiles_column, skip_invalid,
            batch_size, seed, device, workers, no_progress):
    """Predict the unknown labels of the molecules in --input, using the labels they already have."""
    from metalink_dgl.prediction import predict

    result = predict(checkpoint, input_csv, output_csv, tasks=tasks, support=support, shots=shots,
                     aux_ratio=aux_ratio, smiles_column=smiles_column, skip_invalid=skip_invalid,
                     batch_size=batch_size, seed=seed, device=device, progress=not no_progress, workers=workers)
    support_note = f", {result.n_support} support molecules" if result.n_support else ""
    click.echo(f"{result.n_rows} molecules ({result.n_invalid} invalid), {len(result.tasks)} tasks"
               f"{support_note}: {result.n_predicted} probabilities written to {result.output}")
