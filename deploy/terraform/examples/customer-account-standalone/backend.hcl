bucket         = "changecast-tfstate-210000000000"
key            = "changecast/customer-account/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "changecast-tflock"
encrypt        = true
