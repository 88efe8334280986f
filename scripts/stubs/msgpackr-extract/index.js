throw new Error('msgpackr-extract is stubbed out in taskq; msgpackr falls back to pure JS');
