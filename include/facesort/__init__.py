"""facesort: sort downloaded photos and videos by the people in them.

The package is pure Python and usable without Airflow; the DAGs in ``dags/`` only
wire its functions together. Heavy imports (dlib, numpy, Pillow, SQLAlchemy) live
inside the modules that need them so that importing :mod:`facesort` stays cheap.
"""

__version__ = "0.1.0"
